// What an API token or app password may do: 'full' (all its person may) or 'read' (only what reads). Every
// credential made before was made with its person's full power, so existing rows are 'full', and their seals
// (over id, person, kind, secret hash and revocation) stay valid: a seal that covers no scope means 'full'.
// A read credential's seal covers its scope (domain/identity/sign-in-seals.ts), so writing 'full' over it
// breaks the seal, and only Strongroom (which holds the key) can seal a row anew.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('credentials').addColumn('scope', 'text', (c) => c.notNull().defaultTo(sql`'full'`)).execute();
}
