// Disposal review batches and their items, certificates of destruction, and the stubs destroyed documents leave.
import type { Kysely, Selectable } from 'kysely';
import { exclusionKey, type BatchStatus, type DisposalBatch, type DisposalItem, type DisposalStub, type ItemDecision, type ItemOutcome } from '../../domain/records/disposal.js';
import type { DisposalAction } from '../../domain/records/series.js';
import type { DisposalRepository } from '../../domain/repositories.js';
import type { DisposalBatchesTable, DisposalItemsTable, DisposalStubsTable, Schema } from '../schema.js';
import { IN_THE_BIN } from '../migrations/202612250000_bin_by_organisation.js';

const toBatch = (r: Selectable<DisposalBatchesTable>): DisposalBatch => ({
  id: r.id, organisationId: r.organisation_id, status: r.status as BatchStatus, dueBy: r.due_by, createdAt: r.created_at, createdBy: r.created_by,
  approvedAt: r.approved_at, approvedBy: r.approved_by, executedAt: r.executed_at, certificateId: r.certificate_id,
  kind: r.kind === 'early' ? 'early' : 'due', earlyReason: r.early_reason,
});

const toItem = (r: DisposalItemsTable): DisposalItem => ({
  batchId: r.batch_id, documentId: r.document_id, seriesCode: r.series_code, trigger: r.trigger, triggerDate: r.trigger_date, dueAt: r.due_at,
  action: r.action as DisposalAction, excludedBy: JSON.parse(r.excluded_by) as { id: string; name: string }[], decision: r.decision as ItemDecision,
  decidedBy: r.decided_by, decidedAt: r.decided_at, extendTo: r.extend_to, reason: r.reason, outcome: r.outcome as ItemOutcome | null, executedAt: r.executed_at,
});

const toStub = (r: DisposalStubsTable): DisposalStub => ({
  documentId: r.document_id, organisationId: r.organisation_id, seriesCode: r.series_code, createdAt: r.created_at, disposedAt: r.disposed_at,
  nameSha256: r.name_sha256, totalBytes: Number(r.total_bytes), versionCount: r.version_count, batchId: r.batch_id, certificateId: r.certificate_id,
});

export class DisposalRepo implements DisposalRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insertBatch(b: DisposalBatch, items: DisposalItem[]): Promise<void> {
    await this.db.insertInto('disposal_batches').values({
      id: b.id, organisation_id: b.organisationId, status: b.status, due_by: b.dueBy, created_at: b.createdAt, created_by: b.createdBy,
      approved_at: b.approvedAt, approved_by: b.approvedBy, executed_at: b.executedAt, certificate_id: b.certificateId,
      kind: b.kind ?? 'due', early_reason: b.earlyReason ?? null,
    }).execute();
    for (let i = 0; i < items.length; i += 200) {
      await this.db.insertInto('disposal_items').values(items.slice(i, i + 200).map((it) => ({
        batch_id: it.batchId, document_id: it.documentId, series_code: it.seriesCode, trigger: it.trigger, trigger_date: it.triggerDate, due_at: it.dueAt,
        action: it.action, excluded_by: JSON.stringify(it.excludedBy), decision: it.decision, decided_by: it.decidedBy, decided_at: it.decidedAt,
        extend_to: it.extendTo, reason: it.reason, outcome: it.outcome, executed_at: it.executedAt,
      }))).execute();
    }
  }

  async batch(id: string): Promise<DisposalBatch | undefined> {
    const row = await this.db.selectFrom('disposal_batches').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toBatch(row);
  }

  async batches(organisationId: string, limit = 100): Promise<DisposalBatch[]> {
    const rows = await this.db.selectFrom('disposal_batches').selectAll().where('organisation_id', '=', organisationId)
      .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toBatch);
  }

  async everyBatch(): Promise<DisposalBatch[]> {
    return (await this.db.selectFrom('disposal_batches').selectAll().orderBy('id').execute()).map(toBatch);
  }

  async everyDecidedItem(): Promise<DisposalItem[]> {
    return (await this.db.selectFrom('disposal_items').selectAll().where('decision', '!=', 'pending').orderBy('batch_id').orderBy('document_id').execute()).map(toItem);
  }

  async items(batchId: string): Promise<DisposalItem[]> {
    return (await this.db.selectFrom('disposal_items').selectAll().where('batch_id', '=', batchId).orderBy('due_at').orderBy('document_id').execute()).map(toItem);
  }

  async documentsInOpenBatches(organisationId: string): Promise<Set<string>> {
    const rows = await this.db.selectFrom('disposal_items as i').innerJoin('disposal_batches as b', 'b.id', 'i.batch_id')
      .select('i.document_id').where('b.organisation_id', '=', organisationId).where('b.status', '!=', 'executed').execute();
    return new Set(rows.map((r) => r.document_id));
  }

  async decide(batchId: string, documentId: string, d: { decision: ItemDecision; by: string; at: string; extendTo: string | null; reason: string | null }): Promise<void> {
    await this.db.updateTable('disposal_items').set({ decision: d.decision, decided_by: d.by, decided_at: d.at, extend_to: d.extendTo, reason: d.reason })
      .where('batch_id', '=', batchId).where('document_id', '=', documentId).execute();
  }

  async setStatus(batchId: string, from: BatchStatus, to: BatchStatus, fields: Partial<Pick<DisposalBatch, 'approvedAt' | 'approvedBy' | 'executedAt' | 'certificateId'>>): Promise<boolean> {
    const updated = await this.db.updateTable('disposal_batches').set({
      status: to,
      ...(fields.approvedAt !== undefined ? { approved_at: fields.approvedAt } : {}),
      ...(fields.approvedBy !== undefined ? { approved_by: fields.approvedBy } : {}),
      ...(fields.executedAt !== undefined ? { executed_at: fields.executedAt } : {}),
      ...(fields.certificateId !== undefined ? { certificate_id: fields.certificateId } : {}),
    }).where('id', '=', batchId).where('status', '=', from).executeTakeFirst();
    return Number(updated.numUpdatedRows) > 0;
  }

  async setOutcome(batchId: string, documentId: string, outcome: ItemOutcome, at: string): Promise<void> {
    // The first outcome stands: a second run of the job (or a retry) never rewrites what the first recorded.
    await this.db.updateTable('disposal_items').set({ outcome, executed_at: at }).where('batch_id', '=', batchId).where('document_id', '=', documentId).where('outcome', 'is', null).execute();
  }

  async insertCertificate(c: { id: string; batchId: string; organisationId: string; issuedAt: string; body: string }): Promise<void> {
    await this.db.insertInto('disposal_certificates').values({ id: c.id, batch_id: c.batchId, organisation_id: c.organisationId, issued_at: c.issuedAt, body: c.body }).execute();
  }

  async certificate(id: string) {
    const r = await this.db.selectFrom('disposal_certificates').selectAll().where('id', '=', id).executeTakeFirst();
    return r && { id: r.id, batchId: r.batch_id, organisationId: r.organisation_id, issuedAt: r.issued_at, body: r.body };
  }

  async insertStub(s: DisposalStub): Promise<void> {
    await this.db.insertInto('disposal_stubs').values({
      document_id: s.documentId, organisation_id: s.organisationId, series_code: s.seriesCode, created_at: s.createdAt, disposed_at: s.disposedAt,
      name_sha256: s.nameSha256, total_bytes: s.totalBytes, version_count: s.versionCount, batch_id: s.batchId, certificate_id: s.certificateId,
    }).execute();
  }

  async stub(documentId: string): Promise<DisposalStub | undefined> {
    const row = await this.db.selectFrom('disposal_stubs').selectAll().where('document_id', '=', documentId).executeTakeFirst();
    return row && toStub(row);
  }

  async stubs(batchId: string): Promise<DisposalStub[]> {
    return (await this.db.selectFrom('disposal_stubs').selectAll().where('batch_id', '=', batchId).orderBy('document_id').execute()).map(toStub);
  }

  async binExpired(organisationId: string, deletedBefore: string, limit: number): Promise<string[]> {
    // From documents_bin, whose condition IN_THE_BIN repeats, in its order: what is in the council's bin, not
    // every document it has (migration 202612250000).
    const rows = await this.db.selectFrom('documents').select('id').where('organisation_id', '=', organisationId).where(IN_THE_BIN)
      .where('deleted_at', '<=', deletedBefore).orderBy('deleted_at').orderBy('id').limit(limit).execute();
    return rows.map((r) => r.id);
  }

  async lastExclusions(organisationId: string, documentIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (documentIds.length === 0) return out;
    const rows = await this.db.selectFrom('disposal_items as i').innerJoin('disposal_batches as b', 'b.id', 'i.batch_id')
      .select(['i.document_id', 'i.excluded_by']).where('b.organisation_id', '=', organisationId).where('i.document_id', 'in', [...new Set(documentIds)])
      .orderBy('b.created_at').orderBy('b.id').execute();
    // Later batches overwrite earlier ones: what the records manager was last shown.
    for (const r of rows) out.set(r.document_id, exclusionKey(JSON.parse(r.excluded_by) as { id: string }[]));
    return out;
  }

  async setStubsCertificate(batchId: string, certificateId: string): Promise<void> {
    await this.db.updateTable('disposal_stubs').set({ certificate_id: certificateId }).where('batch_id', '=', batchId).execute();
  }
}
