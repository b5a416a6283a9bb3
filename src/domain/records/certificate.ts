// Certificates of destruction: what a disposal batch destroyed, under which rules, on whose authority,
// and the inclusion proofs of its destruction events against a signed checkpoint of the audit log. The
// whole body is signed with the audit log's key, so `checkCertificate` needs nothing but the JSON and
// the log's public key, and one changed byte of content anywhere fails it. Pure: no I/O.
//
// What a certificate proves: the log recorded, before the checkpoint, one `document.dispose` event per
// document listed (its id, batch and name hash), the batch's approval by the person it names as having
// authorised it, and, before that approval, that person's or a colleague's last decision on each listed
// document to destroy (or transfer) it; the server that keeps that log vouched for every other fact in
// it (rules, dates, counts, holds) by signing them. What it cannot prove: that the bytes are gone from
// media the server never knew of, or facts the server itself got wrong. Format 1 certificates (before
// the approval and decisions were proven) still check, and say that the authorisation is unproven.

import { createHash } from 'node:crypto';
import { BUNDLE_FORMAT, checkBundle, type BundleEvent } from '../audit/bundle.js';
import { canonicalJson, type AuditEvent } from '../audit/event.js';
import { assertVerifierKey, openCheckpoint, openNote } from '../audit/signed-note.js';
import { conflict, DomainError, IntegrityError } from '../errors.js';
import { PROPOSE_EARLY_ACTION, reasonSha256 } from '../audit/disposal-record.js';
import type { HoldRef } from './holds.js';
import type { DisposalBatch, DisposalItem, DisposalStub } from './disposal.js';
import type { RecordSeries } from './series.js';

export const CERTIFICATE_FORMAT = 'strongroom-destruction-certificate/2';
/** Issued before the approval and decisions were in the proof: checked as then, their authorisation named as unproven. */
export const CERTIFICATE_FORMAT_1 = 'strongroom-destruction-certificate/1';
export const DESTRUCTION_METHOD = "crypto-shredding: every version's data key destroyed; every stored copy deleted";
/** The audit actions a certificate proves: one per destroyed document, and the batch's execution. */
export const DISPOSE_ACTION = 'document.dispose';
export const EXECUTE_ACTION = 'disposal.execute';
/** The audit actions that authorise it: a records manager's decision on each item, and the batch's approval. */
export const DECIDE_ACTION = 'disposal.decide';
export const APPROVE_ACTION = 'disposal.approve';
/** Everything a (format 2) certificate's proof holds. */
export const PROVEN_ACTIONS = [DISPOSE_ACTION, EXECUTE_ACTION, DECIDE_ACTION, APPROVE_ACTION, PROPOSE_EARLY_ACTION] as const;
const UNPROVEN_IN_FORMAT_1 = 'who authorised it and the decisions to destroy (a format 1 certificate carries only the destruction events)';

export interface CertificateSeries {
  code: string;
  title: string;
  trigger: string;
  retainYears: number;
  action: string;
  authority: string;
  /** The file plan revision of the series when the certificate was issued. */
  revision: number;
}

export interface CertificateDocument {
  documentId: string;
  seriesCode: string;
  /** SHA-256 (hex) of the document's name: the name itself is not kept. */
  nameSha256: string;
  createdAt: string;
  triggerDate: string;
  dueAt: string;
  disposedAt: string;
  versionCount: number;
  totalBytes: number;
  /** `transferred`: exported to an archive first, then destroyed like the others. */
  outcome: 'destroyed' | 'transferred';
}

export interface DateRange {
  from: string;
  to: string;
}

export interface CertificateCounts {
  proposed: number;
  /** Every document whose data was destroyed, transferred ones included. */
  destroyed: number;
  transferred: number;
  extended: number;
  heldAtExecution: number;
  excluded: number;
  /** Already gone (disposed or purged) before execution. */
  gone: number;
  /**
   * Decided transfer but kept: the record changed after its transfer package was downloaded, so the
   * archive never received it as it now is. Absent from certificates issued before it was counted (0).
   */
  changedSinceTransfer?: number;
  /**
   * Decided destroy or transfer but kept: its retention changed after the batch was proposed, so that it
   * was not due under its series on the day of execution. Absent from certificates issued before it was counted (0).
   */
  notDueAtExecution?: number;
}

export interface HeldDocument {
  documentId: string;
  holds: HoldRef[];
}

/** Everything the signature covers: the certificate without its `signature` field. */
export interface CertificateBody {
  format: typeof CERTIFICATE_FORMAT | typeof CERTIFICATE_FORMAT_1;
  id: string;
  batchId: string;
  issuedAt: string;
  organisation: { id: string; name: string };
  series: CertificateSeries[];
  /** The destroyed documents, by id. */
  documents: CertificateDocument[];
  /** Over the destroyed documents; null when none was destroyed. */
  dates: { created: DateRange | null; trigger: DateRange | null; due: DateRange | null };
  counts: CertificateCounts;
  /** Holds checked when the batch was executed (and those that excluded items when it was proposed). */
  holdCheck: { checkedAt: string; heldAtExecution: HeldDocument[]; excludedWhenProposed: HeldDocument[] };
  method: string;
  /** The person whose `disposal.approve` event is in the proof, and that event's time. */
  authorisedBy: { userId: string; name: string; at: string };
  executedAt: string;
  /**
   * Only on the certificate of an early batch: its records were destroyed before their retention ended, on a
   * records manager's proposal with a reason (its SHA-256: the reason is free text, kept with the batch). Each
   * listed document's `disposal.propose-early` event, naming this hash, is in the proof. `proposedBy` (since
   * 7 December 2026): the person whose proposal events those are, and the first one's time; early destruction is
   * two people's decision, so it is never the person `authorisedBy` names.
   */
  early?: { reasonSha256: string; documentIds: string[]; proposedBy?: { userId: string; name: string; at: string } };
  /** The destruction, decision and approval events with inclusion proofs against one signed checkpoint of the audit log. */
  proof: { origin: string; checkpoint: string; events: BundleEvent[] };
}

export interface DestructionCertificate extends CertificateBody {
  /** A signed note (C2SP) by the audit log's key over the SHA-256 of the body's canonical JSON. */
  signature: string;
}

export type CertificateCheck =
  | {
    ok: true; id: string; batchId: string; organisation: { id: string; name: string }; destroyed: number; executedAt: string; treeSize: number; events: number; bodySha256: string;
    /** What the certificate states that its proof does not cover (only ever for a format 1 certificate). */
    unproven: string[];
    /**
     * An early batch's: how many records were destroyed before their retention ended, the reason's SHA-256, and
     * (on certificates that name them) who proposed it and who approved it, two people.
     */
    early?: { documents: number; reasonSha256: string; proposedBy?: string; approvedBy?: string };
  }
  | { ok: false; problem: string };

/** SHA-256 (hex) of the canonical JSON of the body: what the signature signs. */
export function certificateBodySha256(body: CertificateBody | Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(body), 'utf8').digest('hex');
}

const signedText = (origin: string, id: string, digest: string): string => `${origin}\ncertificate-of-destruction ${id}\nsha256 ${digest}\n`;

const bodyOf = (cert: Record<string, unknown>): Record<string, unknown> => {
  const { signature: _signature, ...body } = cert;
  return body;
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const fail = (problem: string): CertificateCheck => ({ ok: false, problem });

/**
 * Checks a certificate (untrusted, e.g. straight from JSON.parse) against the audit log's verifier key:
 * format, the signature over the whole body, the checkpoint's signature, each event's inclusion proof,
 * one `document.dispose` event per destroyed document (id, batch, name hash) and none for anything
 * else, and counts that add up. Stops at the first problem. A malformed key throws (the caller's mistake).
 */
export function checkCertificate(cert: unknown, verifierKey: string): CertificateCheck {
  if (!isRecord(cert)) return fail('The certificate is not a JSON object.');
  if (cert.format !== CERTIFICATE_FORMAT && cert.format !== CERTIFICATE_FORMAT_1) return fail(`Unknown certificate format ${JSON.stringify(cert.format)}.`);
  const provesAuthorisation = cert.format === CERTIFICATE_FORMAT;
  assertVerifierKey(verifierKey);
  const { signature } = cert;
  if (typeof signature !== 'string') return fail('The certificate carries no signature.');
  const proof = cert.proof;
  if (!isRecord(proof) || typeof proof.origin !== 'string' || typeof proof.checkpoint !== 'string' || !Array.isArray(proof.events)) {
    return fail('The certificate has no proof section (origin, checkpoint, events).');
  }
  if (typeof cert.id !== 'string' || cert.id === '') return fail('The certificate has no id.');

  // 1. The signature over the whole body: any change to any content fails here.
  let digest: string;
  try {
    digest = certificateBodySha256(bodyOf(cert));
  } catch (err) {
    if (err instanceof DomainError) return fail(`The certificate cannot be read: ${err.message}`);
    throw err;
  }
  let text: string;
  try {
    text = openNote(signature, verifierKey).text;
  } catch (err) {
    if (err instanceof DomainError) return fail(`The certificate's signature does not verify with this key: ${err.message}`);
    throw err;
  }
  if (text !== signedText(proof.origin, cert.id, digest)) {
    return fail('The certificate was changed after it was signed: its signature is over different contents.');
  }

  // 2. The events against the signed checkpoint, with the audit bundle's own checker.
  const organisation = cert.organisation;
  if (!isRecord(organisation) || typeof organisation.id !== 'string' || typeof organisation.name !== 'string') return fail('The certificate names no organisation.');
  const bundle = checkBundle({
    format: BUNDLE_FORMAT, origin: proof.origin, organisationId: organisation.id, checkpoint: proof.checkpoint, events: proof.events, checkpoints: [], consistency: [],
  }, verifierKey);
  if (!bundle.ok) return fail(`The audit log proof fails: ${bundle.problem}`);

  // 3. What the events say against what the certificate lists.
  const problem = checkContents(cert, proof.events as BundleEvent[], provesAuthorisation);
  if (problem) return fail(problem);
  const documents = cert.documents as CertificateDocument[];
  return {
    ok: true, id: cert.id, batchId: cert.batchId as string, organisation: { id: organisation.id, name: organisation.name }, destroyed: documents.length,
    executedAt: cert.executedAt as string, treeSize: bundle.treeSize, events: bundle.events, bodySha256: digest, unproven: provesAuthorisation ? [] : [UNPROVEN_IN_FORMAT_1],
    ...(isRecord(cert.early) ? { early: earlySummary(cert.early, cert.authorisedBy) } : {}),
  };
}

/** What a checked certificate's early section says, for the one-line answer. */
function earlySummary(early: Record<string, unknown>, authorisedBy: unknown): NonNullable<Extract<CertificateCheck, { ok: true }>['early']> {
  const summary = { documents: (early.documentIds as unknown[]).length, reasonSha256: early.reasonSha256 as string };
  if (!isRecord(early.proposedBy) || !isRecord(authorisedBy)) return summary;
  return { ...summary, proposedBy: String(early.proposedBy.userId), approvedBy: String(authorisedBy.userId) };
}

function checkContents(cert: Record<string, unknown>, events: BundleEvent[], provesAuthorisation: boolean): string | undefined {
  const { batchId, documents, counts, holdCheck } = cert;
  if (typeof batchId !== 'string' || batchId === '') return 'The certificate names no batch.';
  if (typeof cert.executedAt !== 'string') return 'The certificate does not say when the batch was executed.';
  if (!Array.isArray(documents)) return 'The certificate has no documents list.';
  if (!isRecord(counts) || !['proposed', 'destroyed', 'transferred', 'extended', 'heldAtExecution', 'excluded', 'gone'].every((k) => isCount(counts[k]))) {
    return 'The certificate\'s counts are missing or malformed.';
  }
  if (counts.changedSinceTransfer !== undefined && !isCount(counts.changedSinceTransfer)) return 'The certificate\'s counts are missing or malformed.';
  if (counts.notDueAtExecution !== undefined && !isCount(counts.notDueAtExecution)) return 'The certificate\'s counts are missing or malformed.';
  if (!isRecord(holdCheck) || !Array.isArray(holdCheck.heldAtExecution) || !Array.isArray(holdCheck.excludedWhenProposed)) return 'The certificate has no hold check.';

  const disposeEvents = new Map<string, AuditEvent[]>();
  const decisions = new Map<string, AuditEvent>();
  const approvals: AuditEvent[] = [];
  const earlyProposals = new Map<string, AuditEvent>();
  for (const { event } of events) {
    if (event.targetIds.batchId !== batchId) return `Event ${event.seq} (${event.action}) is not about batch ${batchId}.`;
    if (event.decision !== 'allow') return `Event ${event.seq} (${event.action}) records a refusal, not a destruction or its authorisation.`;
    if (event.action === DISPOSE_ACTION) {
      const id = event.targetIds.documentId ?? '';
      disposeEvents.set(id, [...(disposeEvents.get(id) ?? []), event]);
    } else if (provesAuthorisation && event.action === DECIDE_ACTION) {
      // An item's decisions could change until approval: the one with the highest seq stands.
      const id = event.targetIds.documentId ?? '';
      if ((decisions.get(id)?.seq ?? -1) < event.seq) decisions.set(id, event);
    } else if (provesAuthorisation && event.action === APPROVE_ACTION) {
      approvals.push(event);
    } else if (provesAuthorisation && event.action === PROPOSE_EARLY_ACTION) {
      earlyProposals.set(event.targetIds.documentId ?? '', event);
    } else if (event.action !== EXECUTE_ACTION) {
      return `Event ${event.seq} is a ${event.action} event, not a destruction event${provesAuthorisation ? ' or its authorisation' : ''}.`;
    }
  }
  const listed = new Set<string>();
  for (const [i, doc] of documents.entries()) {
    if (!isRecord(doc) || typeof doc.documentId !== 'string' || typeof doc.nameSha256 !== 'string') return `Document #${i} of the certificate is malformed.`;
    if (listed.has(doc.documentId)) return `Document ${doc.documentId} is listed twice.`;
    listed.add(doc.documentId);
    const matching = disposeEvents.get(doc.documentId) ?? [];
    if (matching.length !== 1) return `Document ${doc.documentId} has ${matching.length} ${DISPOSE_ACTION} events in the proof, not exactly one.`;
    const event = matching[0]!;
    if (event.targetOrganisationId !== (cert.organisation as { id: string }).id) return `The ${DISPOSE_ACTION} event of document ${doc.documentId} is for another organisation.`;
    if (event.targetIds.nameSha256 !== doc.nameSha256) return `The name hash of document ${doc.documentId} differs from its ${DISPOSE_ACTION} event (seq ${event.seq}).`;
    if (event.targetIds.seriesCode !== undefined && event.targetIds.seriesCode !== doc.seriesCode) return `The series of document ${doc.documentId} differs from its ${DISPOSE_ACTION} event (seq ${event.seq}).`;
  }
  for (const id of disposeEvents.keys()) {
    if (!listed.has(id)) return `The proof has a ${DISPOSE_ACTION} event for document ${id}, which the certificate does not list.`;
  }
  if (provesAuthorisation) {
    const unproven = checkAuthorisation(cert, documents, decisions, approvals, disposeEvents);
    if (unproven) return unproven;
    const early = checkEarly(cert.early, documents as { documentId: string }[], earlyProposals, approvals[0]!);
    if (early) return early;
  }
  const c = counts as unknown as CertificateCounts;
  const transferred = documents.filter((d: { outcome?: unknown }) => d.outcome === 'transferred').length;
  if (c.destroyed !== documents.length) return `The certificate counts ${c.destroyed} destroyed but lists ${documents.length} documents.`;
  if (c.transferred !== transferred) return `The certificate counts ${c.transferred} transferred but lists ${transferred}.`;
  if (c.heldAtExecution !== holdCheck.heldAtExecution.length) return `The certificate counts ${c.heldAtExecution} held at execution but its hold check lists ${holdCheck.heldAtExecution.length}.`;
  if (c.excluded !== holdCheck.excludedWhenProposed.length) return `The certificate counts ${c.excluded} excluded but its hold check lists ${holdCheck.excludedWhenProposed.length}.`;
  const changed = c.changedSinceTransfer ?? 0;
  const notDue = c.notDueAtExecution ?? 0;
  if (c.proposed !== c.destroyed + c.extended + c.heldAtExecution + c.excluded + c.gone + changed + notDue) {
    return `The certificate's counts do not add up: ${c.proposed} proposed, but ${c.destroyed} destroyed + ${c.extended} extended + ${c.heldAtExecution} held + ${c.excluded} excluded + ${c.gone} gone`
      + `${changed ? ` + ${changed} changed since the transfer package` : ''}${notDue ? ` + ${notDue} not due at execution` : ''}.`;
  }
  return undefined;
}

/**
 * Who authorised the destruction, by the log rather than by the certificate's say-so: exactly one
 * approval of the batch, by the person the certificate names, at the time it names, before any
 * document was destroyed; and for each listed document a last decision, before that approval, that
 * says destroy (or transfer, for a transferred one).
 */
function checkAuthorisation(cert: Record<string, unknown>, documents: unknown[], decisions: Map<string, AuditEvent>, approvals: AuditEvent[], disposeEvents: Map<string, AuditEvent[]>): string | undefined {
  if (approvals.length !== 1) return `The proof has ${approvals.length} ${APPROVE_ACTION} events for the batch, not exactly one: who authorised it is unproven.`;
  const approval = approvals[0]!;
  const by = cert.authorisedBy;
  if (!isRecord(by) || by.userId !== approval.actorUserId || by.at !== approval.time) {
    const named = isRecord(by) ? `${String(by.userId)} at ${String(by.at)}` : 'nobody';
    return `The certificate names ${named} as authorising it, but the proven approval (seq ${approval.seq}) is by ${approval.actorUserId ?? 'nobody'} at ${approval.time}.`;
  }
  for (const doc of documents as { documentId?: unknown; outcome?: unknown }[]) {
    const id = String(doc.documentId);
    const expected = doc.outcome === 'transferred' ? 'transfer' : 'destroy';
    const decision = decisions.get(id);
    if (!decision || decision.targetIds.decision !== expected || decision.seq > approval.seq) {
      return `Document ${id} has no proven decision to ${expected} it before the batch was approved (seq ${approval.seq}): its authorisation is unproven.`;
    }
    for (const dispose of disposeEvents.get(id) ?? []) {
      if (dispose.seq < approval.seq) return `Document ${id} was destroyed (seq ${dispose.seq}) before the batch was approved (seq ${approval.seq}).`;
    }
  }
  return undefined;
}

/**
 * An early batch's records were destroyed before their retention ended: the certificate must say so (`early`)
 * exactly when the proof holds proposals to destroy early, list every destroyed document as such, and each must
 * have its proposal, naming the reason's hash the certificate gives, before the approval. A certificate cannot
 * pass early destruction off as a due one, nor claim a reason its proposals did not give.
 */
function checkEarly(early: unknown, documents: readonly { documentId: string }[], proposals: Map<string, AuditEvent>, approval: AuditEvent): string | undefined {
  if (early === undefined) {
    return proposals.size === 0 ? undefined : 'The proof has proposals to destroy records before their retention ended, but the certificate does not say they were destroyed early.';
  }
  if (!isRecord(early) || typeof early.reasonSha256 !== 'string' || !Array.isArray(early.documentIds)) return 'The certificate\'s early destruction section is malformed.';
  const named = new Set(early.documentIds.map(String));
  if (named.size !== documents.length || documents.some((d) => !named.has(d.documentId))) {
    return 'The certificate\'s early destruction section does not name exactly the documents it lists as destroyed.';
  }
  for (const { documentId } of documents) {
    const proposal = proposals.get(documentId);
    if (!proposal || proposal.targetIds.reasonSha256 !== early.reasonSha256 || proposal.seq > approval.seq) {
      return `Document ${documentId} has no proven proposal to destroy it early, with the reason the certificate gives, before the batch was approved (seq ${approval.seq}).`;
    }
  }
  return early.proposedBy === undefined ? undefined : checkProposer(early.proposedBy, proposals, approval);
}

/**
 * Who proposed an early destruction, by the log: every proven proposal is the person the certificate names, the
 * first at the time it names, and that person is not the one whose approval is proven (two people's decision).
 */
function checkProposer(by: unknown, proposals: Map<string, AuditEvent>, approval: AuditEvent): string | undefined {
  if (!isRecord(by) || typeof by.userId !== 'string' || typeof by.at !== 'string') return 'The certificate\'s early destruction section names its proposer in a malformed way.';
  const events = [...proposals.values()];
  const other = events.find((e) => e.actorUserId !== by.userId);
  if (events.length === 0 || other) {
    return `The certificate names ${by.userId} as proposing the early destruction, but ${other ? `the proven proposal (seq ${other.seq}) is by ${other.actorUserId ?? 'nobody'}` : 'the proof has no proposal'}.`;
  }
  const first = events.reduce((a, b) => (b.seq < a.seq ? b : a));
  if (first.time !== by.at) return `The certificate says the early destruction was proposed at ${by.at}, but the first proven proposal (seq ${first.seq}) is at ${first.time}.`;
  if (approval.actorUserId === by.userId) return `The early destruction was approved (seq ${approval.seq}) by ${by.userId}, who proposed it: it was not a second person's decision.`;
  return undefined;
}

export interface BuildCertificateInput {
  id: string;
  issuedAt: string;
  batch: DisposalBatch;
  items: readonly DisposalItem[];
  /** The stubs the batch's destroyed documents left. */
  stubs: readonly DisposalStub[];
  organisation: { id: string; name: string };
  /** The series of the batch's items, by code. */
  series: readonly RecordSeries[];
  /** The name of the person whose approval event is in the proof (the certificate takes their id and the time from the event). */
  approverName: (userId: string) => string;
  /** For an early batch: the name of the person whose proposal events are in the proof (their id and time from the events). */
  proposerName?: (userId: string) => string;
  /** The holds in force over each item kept by a hold at execution. */
  heldAtExecution: ReadonlyMap<string, HoldRef[]>;
  /** The batch's destruction, decision and approval events, each with its inclusion proof against `checkpoint`. */
  proof: { checkpoint: string; events: BundleEvent[] };
}

/** The audit log's key, kept by whoever holds it: signs note text, and the public half to check with. */
export interface CertificateSigner {
  sign(text: string): string;
  verifierKey: string;
}

const range = (all: string[]): DateRange | null => {
  // An early item of a record awaiting its trigger event, or unfiled, has no trigger or due date ('').
  const values = all.filter((v) => v !== '');
  if (values.length === 0) return null;
  const sorted = [...values].sort();
  return { from: sorted[0]!, to: sorted.at(-1)! };
};

/**
 * Builds and signs a certificate, then checks it as an auditor would: the server refuses to issue one
 * that would only fail at the auditor's desk (an event missing from the proof, a stub missing).
 */
export function buildCertificate(input: BuildCertificateInput, signer: CertificateSigner): DestructionCertificate {
  const { batch, items } = input;
  if (batch.status !== 'executed' || !batch.executedAt) throw conflict(`Disposal batch ${batch.id} has not been executed yet, so it has no certificate.`);
  // Who authorised it is what the log proves, not what the batch's row says (a row anyone with SQL can write).
  const approval = input.proof.events.find((e) => e.event.action === APPROVE_ACTION)?.event;
  if (!approval?.actorUserId) throw new IntegrityError(`Disposal batch ${batch.id} was executed without an approval in the audit log.`);
  const stubs = new Map(input.stubs.map((s) => [s.documentId, s]));
  const documents: CertificateDocument[] = [];
  for (const item of items) {
    if (item.outcome !== 'destroyed' && item.outcome !== 'transferred') continue;
    const stub = stubs.get(item.documentId);
    if (!stub) throw new IntegrityError(`Document ${item.documentId} of batch ${batch.id} was destroyed but left no stub.`);
    documents.push({
      documentId: item.documentId, seriesCode: item.seriesCode, nameSha256: stub.nameSha256, createdAt: stub.createdAt, triggerDate: item.triggerDate,
      dueAt: item.dueAt, disposedAt: stub.disposedAt, versionCount: stub.versionCount, totalBytes: stub.totalBytes, outcome: item.outcome,
    });
  }
  documents.sort((a, b) => (a.documentId < b.documentId ? -1 : a.documentId > b.documentId ? 1 : 0));
  const held = items.filter((i) => i.outcome === 'held').map((i) => ({ documentId: i.documentId, holds: input.heldAtExecution.get(i.documentId) ?? [] }));
  const excluded = items.filter((i) => i.outcome === 'excluded').map((i) => ({ documentId: i.documentId, holds: i.excludedBy }));
  const codes = new Set(items.map((i) => i.seriesCode));
  const head = openCheckpoint(input.proof.checkpoint, signer.verifierKey);
  const body: CertificateBody = {
    format: CERTIFICATE_FORMAT,
    id: input.id,
    batchId: batch.id,
    issuedAt: input.issuedAt,
    organisation: { id: input.organisation.id, name: input.organisation.name },
    series: input.series.filter((s) => codes.has(s.code)).sort((a, b) => (a.code < b.code ? -1 : 1)).map((s) => ({
      code: s.code, title: s.title, trigger: s.trigger, retainYears: s.retainYears, action: s.action, authority: s.authority, revision: s.revision,
    })),
    documents,
    dates: { created: range(documents.map((d) => d.createdAt)), trigger: range(documents.map((d) => d.triggerDate)), due: range(documents.map((d) => d.dueAt)) },
    counts: {
      proposed: items.length,
      destroyed: documents.length,
      transferred: documents.filter((d) => d.outcome === 'transferred').length,
      extended: items.filter((i) => i.outcome === 'extended').length,
      heldAtExecution: held.length,
      excluded: excluded.length,
      gone: items.filter((i) => i.outcome === 'gone').length,
      changedSinceTransfer: items.filter((i) => i.outcome === 'changed').length,
      // Only when there is one: certificates without them stay as every checker already reads them.
      ...(items.some((i) => i.outcome === 'not_due') ? { notDueAtExecution: items.filter((i) => i.outcome === 'not_due').length } : {}),
    },
    holdCheck: { checkedAt: batch.executedAt, heldAtExecution: held, excludedWhenProposed: excluded },
    method: DESTRUCTION_METHOD,
    authorisedBy: { userId: approval.actorUserId, name: input.approverName(approval.actorUserId), at: approval.time },
    executedAt: batch.executedAt,
    ...(batch.kind === 'early' ? { early: earlySection(input, documents) } : {}),
    proof: { origin: head.origin, checkpoint: input.proof.checkpoint, events: [...input.proof.events].sort((a, b) => a.leafIndex - b.leafIndex) },
  };
  const certificate: DestructionCertificate = { ...body, signature: signer.sign(signedText(head.origin, body.id, certificateBodySha256(body))) };
  const check = checkCertificate(JSON.parse(JSON.stringify(certificate)), signer.verifierKey);
  if (!check.ok) throw new IntegrityError(`The certificate for batch ${batch.id} would not verify: ${check.problem}`);
  return certificate;
}

/**
 * An early batch's section: the reason's hash, the documents destroyed early, and who proposed it, as the proven
 * proposal events say (the first one's time). A proof with no proposal (nothing of the batch destroyed) names nobody.
 */
function earlySection(input: BuildCertificateInput, documents: readonly CertificateDocument[]): NonNullable<CertificateBody['early']> {
  const proposals = input.proof.events.map((e) => e.event).filter((e) => e.action === PROPOSE_EARLY_ACTION).sort((a, b) => a.seq - b.seq);
  const first = proposals[0];
  const proposer = first?.actorUserId;
  return {
    reasonSha256: reasonSha256(input.batch.earlyReason ?? ''), documentIds: documents.map((d) => d.documentId),
    ...(first && proposer ? { proposedBy: { userId: proposer, name: input.proposerName?.(proposer) ?? '(unknown)', at: first.time } } : {}),
  };
}

/** The certificate as stored and served: one fixed serialisation, so its file SHA-256 is stable. */
export function serialiseCertificate(certificate: DestructionCertificate): string {
  return `${JSON.stringify(certificate, null, 1)}\n`;
}

const plainText = (s: string): string => s.replace(/[\p{Cc}\p{Cf}]/gu, '?');

/** The one-line answer an auditor reads. */
export function describeCheck(check: CertificateCheck): string {
  if (!check.ok) return `Certificate FAILED: ${check.problem.replace(/[\p{Cc}\p{Cf}]/gu, '?')}`;
  const unproven = check.unproven.length > 0 ? ` Not proven by the audit log: ${check.unproven.join('; ')}.` : '';
  const early = check.early ? ` Destroyed before their retention ended (early destruction): ${check.early.documents}, reason SHA-256 ${plainText(check.early.reasonSha256)}.`
    + (check.early.proposedBy ? ` Proposed by ${plainText(check.early.proposedBy)}, approved by another, ${plainText(check.early.approvedBy ?? '')}.` : '') : '';
  const n = check.destroyed;
  // Names reach the auditor's terminal: no control characters (escape sequences, new lines) get through.
  const plain = (s: string): string => s.replace(/[\p{Cc}\p{Cf}]/gu, '?');
  return `Certificate ${plain(check.id)} is valid: ${n} document${n === 1 ? '' : 's'} destroyed for ${plain(check.organisation.name)} on ${plain(check.executedAt.slice(0, 10))}, checkpoint tree size ${check.treeSize}.${early}${unproven}`;
}
