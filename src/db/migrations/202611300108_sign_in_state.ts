// Sign-in state that must outlive a process and be shared between processes: failure counters for
// throttling (by address, by account and address, by account) and the last TOTP step each person used.
import type { Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  await db.schema
    .createTable('sign_in_throttles')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('window_ends_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sign_in_throttles_window_ends_at').on('sign_in_throttles').column('window_ends_at').execute();
  // A code's 30-second step, accepted at most once: compared and set in one statement.
  await db.schema.alterTable('users').addColumn('totp_last_step', caps.bigint).execute();
}
