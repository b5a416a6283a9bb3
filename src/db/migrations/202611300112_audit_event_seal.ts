// Audit events carry a seal (an HMAC only the service can make) so the sequencer refuses rows
// written straight into the database. Events already written have none; the highest id at this
// moment is recorded so only those are let through unsealed.
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, _caps: DialectCaps): Promise<void> {
  await db.schema.alterTable('audit_events').addColumn('seal', 'text').execute();
  const row = await db.selectFrom('audit_events').select(sql<number | string | null>`max(id)`.as('top')).executeTakeFirst();
  await db.insertInto('key_values').values({ key: 'audit.unsealed_through_id', value: String(Number(row?.top ?? 0)) }).execute();
}
