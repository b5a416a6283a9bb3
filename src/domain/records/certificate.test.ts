// Certificates of destruction: a genuine one verifies after a JSON round trip with only the public key;
// one changed character anywhere fails it; the wrong key fails it; and the checks under the signature
// (proofs, one dispose event per document, counts) catch a certificate the signer itself got wrong.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeEvent, makeLog, ORIGIN } from '../../../test/fixtures/audit/audit-log.js';
import { buildBundle } from '../audit/bundle.js';
import type { AuditEvent } from '../audit/event.js';
import { generateSignerKey, signCheckpoint, signNote, verifierKeyFromSigner } from '../audit/signed-note.js';
import { rootFromLeafHashes } from '../audit/merkle.js';
import { DomainError, IntegrityError } from '../errors.js';
import {
  buildCertificate, certificateBodySha256, checkCertificate, describeCheck, serialiseCertificate, CERTIFICATE_FORMAT, CERTIFICATE_FORMAT_1, DESTRUCTION_METHOD,
  type BuildCertificateInput, type DestructionCertificate,
} from './certificate.js';
import type { DisposalBatch, DisposalItem, DisposalStub } from './disposal.js';
import type { RecordSeries } from './series.js';

const ORG = 'org-a';
const BATCH = 'batch-1';
const NAME_HASH = (n: number) => String(n).repeat(64).slice(0, 64).replace(/[^0-9]/g, 'a');

const disposeEvent = (seq: number, documentId: string, nameSha256: string): AuditEvent => makeEvent(seq, {
  actorUserId: null, actorOrganisationId: null, action: 'document.dispose', targetOrganisationId: ORG,
  targetIds: { documentId, batchId: BATCH, seriesCode: 'HR-03', nameSha256 }, decision: 'allow', reason: 'system', channel: 'job', clientAddress: null, requestId: null,
});

const personEvent = (seq: number, action: string, targetIds: Record<string, string>, actorUserId = 'user-rm', time = '2026-11-20T10:00:00.000Z'): AuditEvent => makeEvent(seq, {
  time, actorUserId, actorOrganisationId: ORG, action, targetOrganisationId: ORG, targetIds, decision: 'allow', reason: 'records_manager', channel: 'web', clientAddress: null, requestId: null,
});

// A log of 24 events: the records manager's decisions at 6 to 9 (doc-1 first kept at 6, then destroyed
// at 7; doc-2 transferred; doc-3 kept), the approval at 10, the destruction events at 11, 12 and 13.
const events: AuditEvent[] = Array.from({ length: 24 }, (_, i) => makeEvent(i));
events[6] = personEvent(6, 'disposal.decide', { batchId: BATCH, documentId: 'doc-1', decision: 'extend' }, 'user-rm', '2026-11-20T08:00:00.000Z');
events[7] = personEvent(7, 'disposal.decide', { batchId: BATCH, documentId: 'doc-1', decision: 'destroy' }, 'user-rm', '2026-11-20T09:00:00.000Z');
events[8] = personEvent(8, 'disposal.decide', { batchId: BATCH, documentId: 'doc-2', decision: 'transfer' }, 'user-rm', '2026-11-20T09:00:00.000Z');
events[9] = personEvent(9, 'disposal.decide', { batchId: BATCH, documentId: 'doc-3', decision: 'extend' }, 'user-rm', '2026-11-20T09:00:00.000Z');
events[10] = personEvent(10, 'disposal.approve', { batchId: BATCH }, 'user-rm', '2026-11-20T10:00:00.000Z');
events[11] = disposeEvent(11, 'doc-1', NAME_HASH(1));
events[12] = disposeEvent(12, 'doc-2', NAME_HASH(2));
events[13] = makeEvent(13, { actorUserId: null, actorOrganisationId: null, action: 'disposal.execute', targetOrganisationId: ORG, targetIds: { batchId: BATCH }, decision: 'allow', reason: 'system', channel: 'job', clientAddress: null, requestId: null });
const log = makeLog(24, { events });

const batch: DisposalBatch = {
  id: BATCH, organisationId: ORG, status: 'executed', dueBy: '2026-11-30', createdAt: '2026-11-01T09:00:00.000Z', createdBy: null,
  approvedAt: '2026-11-20T10:00:00.000Z', approvedBy: 'user-rm', executedAt: '2026-11-30T02:00:00.000Z', certificateId: null,
};
const item = (documentId: string, outcome: DisposalItem['outcome'], extra: Partial<DisposalItem> = {}): DisposalItem => ({
  batchId: BATCH, documentId, seriesCode: 'HR-03', trigger: 'process_complete', triggerDate: '2024-06-01', dueAt: '2026-06-01', action: 'destroy', excludedBy: [],
  decision: 'destroy', decidedBy: 'user-rm', decidedAt: '2026-11-20T09:00:00.000Z', extendTo: null, reason: null, outcome, executedAt: batch.executedAt, ...extra,
});
const items: DisposalItem[] = [
  item('doc-1', 'destroyed'),
  item('doc-2', 'transferred', { decision: 'transfer', triggerDate: '2024-05-01', dueAt: '2026-05-01' }),
  item('doc-3', 'extended', { decision: 'extend', extendTo: '2027-06-01', reason: 'tribunal pending' }),
  item('doc-4', 'held'),
  item('doc-5', 'excluded', { decision: 'pending', excludedBy: [{ id: 'hold-0', name: 'Smith v Council' }] }),
];
const stub = (documentId: string, nameSha256: string): DisposalStub => ({
  documentId, organisationId: ORG, seriesCode: 'HR-03', createdAt: '2020-01-02T03:04:05.000Z', disposedAt: batch.executedAt!, nameSha256, totalBytes: 1234, versionCount: 2, batchId: BATCH, certificateId: null,
});
const series: RecordSeries = {
  organisationId: ORG, code: 'HR-03', title: 'Disciplinary case files', serviceArea: 'hr', trigger: 'process_complete', retainYears: 2, action: 'destroy',
  authority: 'ACAS code of practice', revision: 3, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-02-01T00:00:00.000Z',
};

const PROOF = [6, 7, 8, 9, 10, 11, 12, 13];

async function input(proofSeqs = PROOF, size = 24): Promise<BuildCertificateInput> {
  const bundle = await buildBundle({
    organisationId: ORG, checkpoint: log.checkpoint(size), verifierKey: log.verifierKey, events: proofSeqs.map((s) => log.events[s]!), subtrees: log.store,
  });
  return {
    id: 'cert-1', issuedAt: '2026-11-30T02:00:05.000Z', batch, items, stubs: [stub('doc-1', NAME_HASH(1)), stub('doc-2', NAME_HASH(2))],
    organisation: { id: ORG, name: 'Anytown Council' }, series: [series], approverName: (id) => (id === 'user-rm' ? 'Rita Manager' : '(unknown)'),
    heldAtExecution: new Map([['doc-4', [{ id: 'hold-1', name: 'Public inquiry' }]]]), proof: { checkpoint: bundle.checkpoint, events: bundle.events },
  };
}

const signer = { sign: (text: string) => signNote(text, log.signerKey), verifierKey: log.verifierKey };
const plain = (c: DestructionCertificate): Record<string, unknown> => JSON.parse(serialiseCertificate(c)) as Record<string, unknown>;

/** Signs an edited body again with the log's own key: what a faulty (not a forging) server would produce. */
function resign(cert: Record<string, unknown>, signerKey = log.signerKey): Record<string, unknown> {
  const { signature: _s, ...body } = cert;
  const text = `${(body.proof as { origin: string }).origin}\ncertificate-of-destruction ${String(body.id)}\nsha256 ${certificateBodySha256(body)}\n`;
  return { ...body, signature: signNote(text, signerKey) };
}

describe('certificate of destruction', () => {
  it('holds what the issue asks for and verifies with only the public key', async () => {
    const cert = plain(buildCertificate(await input(), signer));
    expect(cert).toMatchObject({
      format: CERTIFICATE_FORMAT, id: 'cert-1', batchId: BATCH, organisation: { id: ORG, name: 'Anytown Council' },
      series: [{ code: 'HR-03', title: 'Disciplinary case files', trigger: 'process_complete', retainYears: 2, action: 'destroy', authority: 'ACAS code of practice', revision: 3 }],
      counts: { proposed: 5, destroyed: 2, transferred: 1, extended: 1, heldAtExecution: 1, excluded: 1, gone: 0 },
      dates: { created: { from: '2020-01-02T03:04:05.000Z', to: '2020-01-02T03:04:05.000Z' }, trigger: { from: '2024-05-01', to: '2024-06-01' }, due: { from: '2026-05-01', to: '2026-06-01' } },
      holdCheck: {
        checkedAt: batch.executedAt,
        heldAtExecution: [{ documentId: 'doc-4', holds: [{ id: 'hold-1', name: 'Public inquiry' }] }],
        excludedWhenProposed: [{ documentId: 'doc-5', holds: [{ id: 'hold-0', name: 'Smith v Council' }] }],
      },
      method: DESTRUCTION_METHOD, authorisedBy: { userId: 'user-rm', name: 'Rita Manager', at: batch.approvedAt }, executedAt: batch.executedAt,
    });
    expect((cert.documents as { documentId: string; nameSha256: string }[]).map((d) => [d.documentId, d.nameSha256])).toEqual([['doc-1', NAME_HASH(1)], ['doc-2', NAME_HASH(2)]]);
    expect((cert.proof as { events: { leafIndex: number }[] }).events.map((e) => e.leafIndex)).toEqual(PROOF);
    const check = checkCertificate(cert, log.verifierKey);
    expect(check).toEqual({
      ok: true, id: 'cert-1', batchId: BATCH, organisation: { id: ORG, name: 'Anytown Council' }, destroyed: 2, executedAt: batch.executedAt, treeSize: 24, events: 8,
      bodySha256: certificateBodySha256((({ signature: _s, ...body }) => body)(cert)), unproven: [],
    });
    expect(describeCheck(check)).toBe('Certificate cert-1 is valid: 2 documents destroyed for Anytown Council on 2026-11-30, checkpoint tree size 24.');
    // A name cannot write escape sequences or new lines to the auditor's terminal.
    expect(describeCheck({ ...(check as Extract<typeof check, { ok: true }>), organisation: { id: ORG, name: 'Evil\u001b[2J\nCouncil' } })).toBe(
      'Certificate cert-1 is valid: 2 documents destroyed for Evil?[2J?Council on 2026-11-30, checkpoint tree size 24.',
    );
  });

  it('fails when any one character of the JSON changes: an event, a name hash, a count, the checkpoint, anywhere', async () => {
    const text = serialiseCertificate(buildCertificate(await input(), signer));
    const survivors: number[] = [];
    let checked = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      const replacement = /[0-9]/.test(c) ? String((Number(c) + 1) % 10) : /[a-f]/.test(c) ? (c === 'f' ? 'a' : String.fromCharCode(c.charCodeAt(0) + 1)) : c === 'x' ? 'y' : 'x';
      let parsed: unknown;
      try {
        parsed = JSON.parse(text.slice(0, i) + replacement + text.slice(i + 1));
      } catch {
        continue; // not JSON any more: refused before any check
      }
      checked++;
      if (checkCertificate(parsed, log.verifierKey).ok) survivors.push(i);
    }
    expect(checked).toBeGreaterThan(3000);
    expect(survivors.map((i) => text.slice(Math.max(0, i - 20), i + 20))).toEqual([]);
    // The named places, each with its own answer.
    const cert = plain(buildCertificate(await input(), signer));
    const edits: [string, (c: any) => void][] = [
      ['event', (c) => { c.proof.events[0].event.reason = 'edited'; }],
      ['name hash', (c) => { c.documents[0].nameSha256 = NAME_HASH(9); }],
      ['count', (c) => { c.counts.destroyed = 3; }],
      ['checkpoint', (c) => { c.proof.checkpoint = log.checkpoint(23); }],
      ['unknown field', (c) => { c.note = 'also destroyed: everything'; }],
    ];
    for (const [what, edit] of edits) {
      const copy = structuredClone(cert);
      edit(copy);
      expect(checkCertificate(copy, log.verifierKey), what).toEqual({ ok: false, problem: 'The certificate was changed after it was signed: its signature is over different contents.' });
    }
  });

  it('fails with another key, and a malformed key throws', async () => {
    const cert = plain(buildCertificate(await input(), signer));
    const other = verifierKeyFromSigner(generateSignerKey('strongroom-test'));
    const check = checkCertificate(cert, other);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.problem).toMatch(/^The certificate's signature does not verify with this key: /);
    expect(() => checkCertificate(cert, 'not-a-key')).toThrow(/Malformed verifier key/);
    expect(checkCertificate({ ...cert, format: 'strongroom-audit-bundle/1' }, log.verifierKey)).toEqual({ ok: false, problem: 'Unknown certificate format "strongroom-audit-bundle/1".' });
    expect(checkCertificate([], log.verifierKey)).toEqual({ ok: false, problem: 'The certificate is not a JSON object.' });
  });

  it('checks under the signature: an event not in the tree, a missing or extra event, a wrong hash, counts that do not add up', async () => {
    const cert = plain(buildCertificate(await input(), signer));
    const edited = (edit: (c: any) => void) => {
      const copy = structuredClone(cert) as any;
      edit(copy);
      return checkCertificate(resign(copy), log.verifierKey);
    };
    expect(checkCertificate(resign(structuredClone(cert)), log.verifierKey).ok).toBe(true);
    expect(edited((c) => { c.proof.events[5].event.reason = 'not what was logged'; })).toEqual({
      ok: false, problem: 'The audit log proof fails: Event 11 is not in the signed log as given: its inclusion proof does not match the checkpoint.',
    });
    expect(edited((c) => { c.proof.events.splice(6, 1); })).toEqual({ ok: false, problem: 'Document doc-2 has 0 document.dispose events in the proof, not exactly one.' });
    expect(edited((c) => { c.documents.splice(1, 1); c.counts.destroyed = 1; c.counts.transferred = 0; c.counts.proposed = 4; })).toEqual({
      ok: false, problem: 'The proof has a document.dispose event for document doc-2, which the certificate does not list.',
    });
    expect(edited((c) => { c.documents[0].nameSha256 = NAME_HASH(9); })).toEqual({ ok: false, problem: 'The name hash of document doc-1 differs from its document.dispose event (seq 11).' });
    expect(edited((c) => { c.counts.gone = 1; })).toMatchObject({ ok: false, problem: expect.stringMatching(/^The certificate's counts do not add up: 5 proposed/) });
    // Records kept because they were not due at execution (their retention changed after the sweep) count towards what was proposed.
    expect(edited((c) => { c.counts.proposed = 6; c.counts.notDueAtExecution = 1; }).ok).toBe(true);
    expect(edited((c) => { c.counts.notDueAtExecution = 1; })).toEqual({
      ok: false, problem: "The certificate's counts do not add up: 5 proposed, but 2 destroyed + 1 extended + 1 held + 1 excluded + 0 gone + 1 not due at execution.",
    });
    expect(edited((c) => { c.counts.notDueAtExecution = -1; })).toEqual({ ok: false, problem: "The certificate's counts are missing or malformed." });
    expect(edited((c) => { c.counts.excluded = 0; c.counts.proposed = 4; })).toEqual({ ok: false, problem: 'The certificate counts 0 excluded but its hold check lists 1.' });
    expect(edited((c) => { c.proof.checkpoint = signCheckpoint({ origin: ORIGIN, treeSize: 24, rootHash: rootFromLeafHashes(log.leafHashes) }, generateSignerKey('strongroom-test')); })).toMatchObject({
      ok: false, problem: expect.stringMatching(/^The audit log proof fails: The bundle's checkpoint does not verify/),
    });
    expect(edited((c) => { c.proof.events[7].event.targetIds.batchId = 'batch-2'; })).toMatchObject({ ok: false, problem: expect.stringMatching(/^The audit log proof fails: Event 13/) });
  });

  // The server signs what its rows say; the rows of who approved and decided are a database administrator's
  // to write. So the certificate's authorisation must be what the proof's events say, or the check fails.
  it('fails when who authorised it is not what the proven approval and decisions say', async () => {
    const cert = plain(buildCertificate(await input(), signer));
    const edited = (edit: (c: any) => void) => {
      const copy = structuredClone(cert) as any;
      edit(copy);
      return checkCertificate(resign(copy), log.verifierKey);
    };
    expect(edited((c) => { c.authorisedBy = { userId: 'user-other', name: 'Someone Else', at: batch.approvedAt }; })).toEqual({
      ok: false, problem: 'The certificate names user-other at 2026-11-20T10:00:00.000Z as authorising it, but the proven approval (seq 10) is by user-rm at 2026-11-20T10:00:00.000Z.',
    });
    expect(edited((c) => { c.proof.events.splice(4, 1); })).toEqual({ ok: false, problem: 'The proof has 0 disposal.approve events for the batch, not exactly one: who authorised it is unproven.' });
    // doc-1's last decision (seq 7) left out: the one before it (seq 6) said keep.
    expect(edited((c) => { c.proof.events.splice(1, 1); })).toEqual({
      ok: false, problem: 'Document doc-1 has no proven decision to destroy it before the batch was approved (seq 10): its authorisation is unproven.',
    });
    expect(edited((c) => { c.proof.events.splice(2, 1); })).toEqual({
      ok: false, problem: 'Document doc-2 has no proven decision to transfer it before the batch was approved (seq 10): its authorisation is unproven.',
    });
    // Built from a proof without the approval: refused at issue.
    const unapproved = await input([6, 7, 8, 9, 11, 12, 13]);
    expect(() => buildCertificate(unapproved, signer)).toThrow('Disposal batch batch-1 was executed without an approval in the audit log.');
  });

  it('checks a format 1 certificate (issued before authorisation was proven) as then, and names what it does not prove', async () => {
    const v1 = structuredClone(plain(buildCertificate(await input(), signer))) as any;
    v1.format = CERTIFICATE_FORMAT_1;
    v1.proof.events = v1.proof.events.filter((e: { event: AuditEvent }) => ['document.dispose', 'disposal.execute'].includes(e.event.action));
    const check = checkCertificate(resign(v1), log.verifierKey);
    expect(check).toMatchObject({ ok: true, destroyed: 2, events: 3, unproven: ['who authorised it and the decisions to destroy (a format 1 certificate carries only the destruction events)'] });
    expect(describeCheck(check)).toBe('Certificate cert-1 is valid: 2 documents destroyed for Anytown Council on 2026-11-30, checkpoint tree size 24. Not proven by the audit log: who authorised it and the decisions to destroy (a format 1 certificate carries only the destruction events).');
  });

  it('is refused at issue when it would not verify, or when the batch is not executed', async () => {
    // The dispose event of doc-2 is not in the proof.
    const missing = await input([6, 7, 8, 9, 10, 11, 13]);
    expect(() => buildCertificate(missing, signer)).toThrow(IntegrityError);
    expect(() => buildCertificate(missing, signer)).toThrow('Document doc-2 has 0 document.dispose events in the proof, not exactly one.');
    const noStub = { ...(await input()), stubs: [stub('doc-1', NAME_HASH(1))] };
    expect(() => buildCertificate(noStub, signer)).toThrow('Document doc-2 of batch batch-1 was destroyed but left no stub.');
    const review = { ...(await input()), batch: { ...batch, status: 'approved' as const, executedAt: null } };
    let error: unknown;
    try {
      buildCertificate(review, signer);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('CONFLICT');
  });
});

// An early batch is two people's decision: its certificate names the proposer, from the proven proposal events,
// beside the approver, and a certificate whose proposer is not theirs, or who also approved, fails the check.
describe('certificate of an early destruction', () => {
  const REASON = 'Payslip of another council uploaded in error';
  const reasonHash = createHash('sha256').update(REASON, 'utf8').digest('hex');

  /** The log above with the batch's proposals, by `proposer`, at 4 and 5 (before the decisions). */
  async function earlyInput(proposer: string): Promise<{ input: BuildCertificateInput; log: ReturnType<typeof makeLog> }> {
    const proposed = [...events];
    for (const [seq, documentId] of [[4, 'doc-1'], [5, 'doc-2']] as const) {
      proposed[seq] = personEvent(seq, 'disposal.propose-early', { batchId: BATCH, documentId, reasonSha256: reasonHash }, proposer, '2026-11-19T10:00:00.000Z');
    }
    const earlyLog = makeLog(24, { events: proposed });
    const bundle = await buildBundle({
      organisationId: ORG, checkpoint: earlyLog.checkpoint(24), verifierKey: earlyLog.verifierKey, events: [4, 5, ...PROOF].map((s) => earlyLog.events[s]!), subtrees: earlyLog.store,
    });
    const names: Record<string, string> = { 'user-rm': 'Rita Manager', 'user-p': 'Pat Proposer' };
    return {
      log: earlyLog,
      input: {
        ...(await input()), batch: { ...batch, kind: 'early', earlyReason: REASON, createdBy: proposer },
        approverName: (id) => names[id] ?? '(unknown)', proposerName: (id) => names[id] ?? '(unknown)', proof: { checkpoint: bundle.checkpoint, events: bundle.events },
      },
    };
  }

  it('names the proposer beside the approver, and verifies', async () => {
    const { input: early, log: earlyLog } = await earlyInput('user-p');
    const cert = plain(buildCertificate(early, { sign: (text) => signNote(text, earlyLog.signerKey), verifierKey: earlyLog.verifierKey }));
    expect(cert.early).toEqual({ reasonSha256: reasonHash, documentIds: ['doc-1', 'doc-2'], proposedBy: { userId: 'user-p', name: 'Pat Proposer', at: '2026-11-19T10:00:00.000Z' } });
    expect(cert.authorisedBy).toMatchObject({ userId: 'user-rm', name: 'Rita Manager' });
    const check = checkCertificate(cert, earlyLog.verifierKey);
    expect(check).toMatchObject({ ok: true, early: { documents: 2, reasonSha256: reasonHash, proposedBy: 'user-p', approvedBy: 'user-rm' } });
    expect(describeCheck(check)).toContain('Proposed by user-p, approved by another, user-rm.');
    // Signed again by a faulty server naming another proposer: the proven proposals say otherwise.
    const renamed = resign({ ...cert, early: { ...(cert.early as object), proposedBy: { userId: 'user-rm', name: 'Rita Manager', at: '2026-11-19T10:00:00.000Z' } } }, earlyLog.signerKey);
    expect(checkCertificate(renamed, earlyLog.verifierKey)).toEqual({ ok: false, problem: 'The certificate names user-rm as proposing the early destruction, but the proven proposal (seq 4) is by user-p.' });
  });

  it('is not issued for an early destruction its proposer approved', async () => {
    const { input: early, log: earlyLog } = await earlyInput('user-rm');
    expect(() => buildCertificate(early, { sign: (text) => signNote(text, earlyLog.signerKey), verifierKey: earlyLog.verifierKey })).toThrow(
      `The certificate for batch ${BATCH} would not verify: The early destruction was approved (seq 10) by user-rm, who proposed it: it was not a second person's decision.`,
    );
  });
});
