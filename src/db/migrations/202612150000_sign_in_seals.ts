// Seals over what sign-in trusts (domain/identity/sign-in-seals.ts): a person's password hash, their MFA
// state, each API token's, app password's and SCIM token's row, each identity provider's row and each link of
// a provider's subject to a person (external_identities). A migration holds no key, so existing rows are sealed
// (and their TOTP secrets encrypted) by the open that applies this migration, in its transaction
// (compose/sign-in-seals.ts, services/sign-in-seal-upgrade.ts); a null seal signs nobody in.
import type { Kysely } from 'kysely';

export const SIGN_IN_SEALS_MIGRATION = '202612150000_sign_in_seals';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('password_seal', 'text').execute();
  await db.schema.alterTable('users').addColumn('mfa_seal', 'text').execute();
  await db.schema.alterTable('credentials').addColumn('seal', 'text').execute();
  await db.schema.alterTable('scim_tokens').addColumn('seal', 'text').execute();
  await db.schema.alterTable('identity_providers').addColumn('seal', 'text').execute();
  await db.schema.alterTable('external_identities').addColumn('seal', 'text').execute();
}
