// Upload slots shared by every process: the rows upload admission counts and takes in one locked
// transaction, so the upload limits hold across the cluster (services/upload-admission.ts).
import { sql, type Kysely, type Selectable } from 'kysely';
import type { UploadSlot, UploadSlotScope, UploadSlotsRepository } from '../../domain/repositories.js';
import { preparedQuery, standInColumns } from '../prepared-query.js';
import type { Schema, UploadSlotsTable } from '../schema.js';

const fromRow = (r: Selectable<UploadSlotsTable>): UploadSlot => ({
  id: r.id, holder: r.holder, accountId: r.account_id, clientAddress: r.client_address, organisationId: r.organisation_id,
  acquiredAt: r.acquired_at, expiresAt: r.expires_at,
});

// Every upload takes the admission lock, clears expired slots, takes a slot and gives it back:
// those statements are prepared once.
const takeAdmissionLock = preparedQuery((db) =>
  db.insertInto('upload_admission').values({ id: 1, admissions: 1 })
    .onConflict((oc) => oc.column('id').doUpdateSet({ admissions: sql<number>`upload_admission.admissions + 1` })));
const deleteExpiredSlots = preparedQuery((db, values: { now: string }) => db.deleteFrom('upload_slots').where('expires_at', '<=', values.now));
const insertSlot = preparedQuery((db, values: Selectable<UploadSlotsTable>) =>
  db.insertInto('upload_slots').values(standInColumns(values, {
    id: true, holder: true, account_id: true, client_address: true, organisation_id: true, acquired_at: true, expires_at: true,
  })));
/**
 * One pass over the live slots (few: at most the total limit). A null key matches nothing: `column =
 * null` is never true, so its sum is 0, as the limit for a key nobody has needs.
 */
const liveSlotCounts = preparedQuery((db, values: { accountId: string | null; clientAddress: string | null; organisationId: string; now: string }) => {
  const matching = (column: 'account_id' | 'client_address' | 'organisation_id', value: string | null) =>
    sql<number>`coalesce(sum(case when ${sql.ref(column)} = ${value} then 1 else 0 end), 0)`;
  return db
    .selectFrom('upload_slots')
    .select([
      sql<number>`count(*)`.as('total'),
      matching('account_id', values.accountId).as('account'),
      matching('client_address', values.clientAddress).as('client'),
      matching('organisation_id', values.organisationId).as('organisation'),
    ])
    .where('expires_at', '>', values.now);
});
const deleteSlot = preparedQuery((db, values: { id: string }) => db.deleteFrom('upload_slots').where('id', '=', values.id));

export class UploadSlotsRepo implements UploadSlotsRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /**
   * Updating the one admission row is the lock on both dialects: PostgreSQL holds its row lock until
   * the transaction ends; on SQLite a write as the transaction's first statement takes the database's
   * write lock (waiting up to busy_timeout) before anything is read, so no count is ever stale.
   * An upsert, not an update: an update of a row someone deleted (by hand, or a partial restore) matches
   * nothing, so on PostgreSQL it would lock nothing and admissions from several processes would count
   * at once and together exceed the limits; the upsert puts the row back and locks it.
   */
  async lockAdmission(): Promise<void> {
    await takeAdmissionLock.run(this.db, {});
  }

  async deleteExpired(now: string): Promise<number> {
    return Number((await deleteExpiredSlots.run(this.db, { now })).numAffectedRows ?? 0);
  }

  async liveCounts(keys: { accountId: string | null; clientAddress: string | null; organisationId: string }, now: string): Promise<Record<UploadSlotScope, number>> {
    const [row] = (await liveSlotCounts.run(this.db, { ...keys, now })).rows;
    if (!row) throw new Error('A count of the live upload slots returned no row.');
    return { account: Number(row.account), client: Number(row.client), organisation: Number(row.organisation), total: Number(row.total) };
  }

  async insert(slot: UploadSlot): Promise<void> {
    await insertSlot.run(this.db, {
      id: slot.id, holder: slot.holder, account_id: slot.accountId, client_address: slot.clientAddress, organisation_id: slot.organisationId,
      acquired_at: slot.acquiredAt, expires_at: slot.expiresAt,
    });
  }

  async renew(id: string, expiresAt: string): Promise<boolean> {
    const result = await this.db.updateTable('upload_slots').set({ expires_at: expiresAt }).where('id', '=', id).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async delete(id: string): Promise<boolean> {
    return Number((await deleteSlot.run(this.db, { id })).numAffectedRows ?? 0) > 0;
  }

  async live(now: string): Promise<UploadSlot[]> {
    const rows = await this.db.selectFrom('upload_slots').selectAll().where('expires_at', '>', now).orderBy('acquired_at').orderBy('id').execute();
    return rows.map(fromRow);
  }
}
