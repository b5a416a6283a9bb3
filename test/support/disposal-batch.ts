// A disposal batch as the disposal job leaves it (items, stubs, destruction events), for the certificate
// tests and any test that needs an executed batch without running a sweep.
import { createHash, randomUUID } from 'node:crypto';
import type { DisposalBatch, DisposalItem } from '../../src/domain/records/disposal.js';
import type { Actor } from '../../src/domain/types.js';
import type { Vault } from '../../src/main.js';
import { auditEvent } from '../../src/services/audit-events.js';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { api, expectProblem } from './http.js';
import type { TestUser } from './vault.js';
import { systemActor } from '../../src/services/identity.service.js';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * A batch of `organisation` as the disposal job leaves it: executed, two documents destroyed (one
 * transferred first), one extended, one held at execution, one excluded when proposed; the approver's
 * `disposal.decide` and `disposal.approve` events, a stub and a `document.dispose` event per destroyed
 * document and one `disposal.execute` event.
 */
export async function executedBatch(vault: Vault, organisationId: string, approver: { id: string }, options: { status?: DisposalBatch['status'] } = {}) {
  const repos = vault.store.repos;
  const now = new Date();
  const at = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000).toISOString();
  if (!(await repos.retention.series(organisationId, 'HR-03'))) {
    await repos.retention.insertSeries({
      organisationId, code: 'HR-03', title: 'Disciplinary case files', serviceArea: 'hr', trigger: 'process_complete', retainYears: 2, action: 'destroy',
      authority: 'ACAS code of practice', revision: 1, createdAt: at(600), updatedAt: at(600),
    }, { reason: 'seeded', changedBy: null });
  }
  const status = options.status ?? 'executed';
  const batch: DisposalBatch = {
    id: randomUUID(), organisationId, status, dueBy: now.toISOString().slice(0, 10), createdAt: at(30), createdBy: approver.id,
    approvedAt: status === 'review' ? null : at(20), approvedBy: status === 'review' ? null : approver.id, executedAt: status === 'executed' ? at(1) : null, certificateId: null,
  };
  const doc = () => randomUUID();
  const ids = { destroyed: doc(), transferred: doc(), extended: doc(), held: doc(), excluded: doc() };
  const executed = status === 'executed';
  const item = (documentId: string, decision: DisposalItem['decision'], outcome: DisposalItem['outcome'], extra: Partial<DisposalItem> = {}): DisposalItem => ({
    batchId: batch.id, documentId, seriesCode: 'HR-03', trigger: 'process_complete', triggerDate: '2024-06-01', dueAt: '2026-06-01', action: 'destroy', excludedBy: [],
    decision, decidedBy: approver.id, decidedAt: at(25), extendTo: null, reason: null, outcome: executed ? outcome : null, executedAt: executed ? batch.executedAt : null, ...extra,
  });
  await repos.disposal.insertBatch(batch, [
    item(ids.destroyed, 'destroy', 'destroyed'),
    item(ids.transferred, 'transfer', 'transferred', { triggerDate: '2024-05-01', dueAt: '2026-05-01' }),
    item(ids.extended, 'extend', 'extended', { extendTo: '2027-06-01', reason: 'tribunal pending' }),
    item(ids.held, 'destroy', 'held'),
    item(ids.excluded, 'pending', 'excluded', { excludedBy: [{ id: randomUUID(), name: 'Smith v Council' }] }),
  ]);
  // The records manager's decisions and approval, as the disposal service records them (the certificate proves them).
  const person: Actor = { ...systemActor('web'), kind: 'user', userId: approver.id, organisationId, roles: ['records_manager'] };
  const decided = { allow: true, reason: 'records_manager', via: null };
  if (status !== 'review') {
    for (const [documentId, decision] of [[ids.destroyed, 'destroy'], [ids.transferred, 'transfer'], [ids.extended, 'extend'], [ids.held, 'destroy']] as const) {
      await repos.audit.insert([auditEvent(person, 'disposal.decide', { organisationId, ids: { batchId: batch.id, documentId, decision } }, decided, new Date(at(25)))]);
    }
    await repos.audit.insert([auditEvent(person, 'disposal.approve', { organisationId, ids: { batchId: batch.id } }, decided, new Date(batch.approvedAt!))]);
  }
  if (!executed) return { batch, ids, nameHashes: [] };
  const job = systemActor('job');
  const allow = { allow: true, reason: 'system', via: null };
  const nameHashes: string[] = [];
  for (const documentId of [ids.destroyed, ids.transferred]) {
    const nameSha256 = sha256(`name of ${documentId}.docx`);
    nameHashes.push(nameSha256);
    await repos.disposal.insertStub({
      documentId, organisationId, seriesCode: 'HR-03', createdAt: at(60 * 24 * 900), disposedAt: batch.executedAt!, nameSha256, totalBytes: 2048, versionCount: 2, batchId: batch.id, certificateId: null,
    });
    await repos.audit.insert([auditEvent(job, 'document.dispose', { organisationId, ids: { documentId, batchId: batch.id, seriesCode: 'HR-03', nameSha256 } }, allow, new Date(batch.executedAt!))]);
  }
  await repos.audit.insert([auditEvent(job, 'disposal.execute', { organisationId, ids: { batchId: batch.id } }, allow, new Date(batch.executedAt!))]);
  return { batch, ids, nameHashes };
}

/** A batch's approve events, allowed or refused, as the log holds them (flushed first), in the log's order. */
export async function approvalEvents(vault: Vault, batchId: string) {
  await vault.audit.sequencer.flush();
  return vault.store.db.selectFrom('audit_events').select(['actor_user_id', 'decision', 'reason']).where('action', '=', 'disposal.approve')
    .where('target_ids', 'like', `%${batchId}%`).orderBy('seq').execute();
}

/**
 * A batch under review approved by `user`, its row and its sealed `disposal.approve` event written as the service
 * writes them but not through its approval: the path a bug, an older release or anyone holding the service's
 * repositories would take past decide(). For a batch of one record decided destroy.
 */
export async function approvedPastTheRule(vault: Vault, user: { id: string; organisationId: string }, teams: string[], batchId: string): Promise<void> {
  const actor: Actor = { kind: 'user', userId: user.id, organisationId: user.organisationId, roles: ['records_manager'], teams, clearance: 'OFFICIAL', channel: 'api', clientAddress: null, requestId: null };
  const now = new Date();
  await vault.store.transaction(async (tx) => {
    if (!(await tx.disposal.setStatus(batchId, 'review', 'approved', { approvedAt: now.toISOString(), approvedBy: user.id }))) throw new Error(`batch ${batchId} is not under review`);
    await tx.audit.insert([auditEvent(actor, 'disposal.approve', {
      organisationId: user.organisationId, ids: { batchId, destroy: '1', transfer: '0', extend: '0', excluded: '0' },
    }, { allow: true, reason: 'records_manager', via: null }, now)]);
  });
}

/** Every version of the document still has its wrapped key: nothing was crypto-shredded. */
export async function expectKeysIntact(vault: Vault, documentId: string): Promise<void> {
  for (const v of await vault.store.repos.documents.versions(documentId)) if (v.wrappedKey.length === 0) throw new Error(`a version of ${documentId} was shredded`);
}

/**
 * Neither person may approve the batch while the log cannot vouch for what its approval is decided on: each is
 * answered 500 (the integrity check), audited `not_vouched_for`, the disposal alarm raised, the batch left under review.
 */
export async function expectNobodyApproves(t: { vault: Vault; app: FastifyInstance }, users: readonly TestUser[], batchId: string): Promise<void> {
  for (const user of users) {
    const refused = expectProblem(await api(t.app, user).post(`disposal/batches/${batchId}/approve`), 500);
    expect(refused.detail).toBe('Stored data failed its integrity check; it has not been served. The incident was logged.');
  }
  expect(await approvalEvents(t.vault, batchId)).toEqual(users.map((u) => ({ actor_user_id: u.id, decision: 'deny', reason: 'not_vouched_for' })));
  expect(await t.vault.audit.alarm.currentAlarm()).toMatchObject({ source: 'disposal' });
  expect(await t.vault.store.repos.disposal.batch(batchId)).toMatchObject({ status: 'review', approvedBy: null });
}
