// Who switched an account off: 'admin' (an org admin's Disable, or the operator) or 'directory' (SCIM
// active=false or DELETE); null while the account is on. The directory may switch on only what it switched
// off (docs/identity.md, "Who may switch an account on again"). Accounts already off are recorded as an
// admin's: which of the two it was is not kept, and the safe side is that only an org admin undoes it.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('disabled_by', 'text').execute();
  await sql`update users set disabled_by = 'admin' where disabled = 1`.execute(db);
}
