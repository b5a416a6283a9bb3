// Security notices as sent (services/mail.service.ts, domain/mail/notice-limits.ts): one row per send-email job
// that carried an account-change notice, in the window of the person's notices it was counted in. Sent alone
// (`held` 0), or held for its window's summary: then with the address it is for and the notice itself, until the
// summary is sent (`summarised_at`). Rows of a window over and summarised are deleted when the person's next opens.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('account_notices')
    /** The send-email job that carried the notice: a retry of it finds the fate decided the first time. */
    .addColumn('job_id', 'integer', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('window_opened_at', 'text', (c) => c.notNull())
    .addColumn('held', 'integer', (c) => c.notNull())
    .addColumn('address', 'text')
    .addColumn('message', 'text')
    .addColumn('summarised_at', 'text')
    .execute();
  await db.schema.createIndex('account_notices_window').on('account_notices').columns(['user_id', 'window_opened_at']).execute();
}
