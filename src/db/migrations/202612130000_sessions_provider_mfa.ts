// Whether a web session's second factor was the identity provider's (a trusted `amr`/`acr` value at
// federated sign-in): such a session has had MFA, so a role that needs MFA does not send it to set up
// Strongroom's own authenticator. Sessions from before are taken as not (the safe side: they set it up).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('provider_mfa', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}
