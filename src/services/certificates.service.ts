// Certificates of destruction: issued when a disposal batch has been carried out, with the inclusion
// proofs of its destruction events against a signed checkpoint, so anyone can check one offline.
// Certificates are themselves kept as records: stored as issued, never disposed, listed per organisation.
import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  APPROVE_ACTION, buildCertificate, PROVEN_ACTIONS, serialiseCertificate, type DestructionCertificate,
} from '../domain/records/certificate.js';
import { PROPOSE_EARLY_ACTION } from '../domain/audit/disposal-record.js';
import { conflict, notFound } from '../domain/errors.js';
import type { CertificateRenderer, Clock } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import type { HoldRef } from '../domain/records/holds.js';
import type { Actor } from '../domain/types.js';
import type { AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import type { AuditProofsService } from './audit-proofs.service.js';
import { systemActor } from './identity.service.js';

export interface CertificatesServiceOptions {
  store: Store;
  access: AccessService;
  audit: Pick<AuditProofsService, 'proveEvents' | 'signStatement' | 'verifierKey'>;
  clock: Clock;
  /** Draws the PDF (the paper copy); the JSON is the evidence. */
  renderer: CertificateRenderer;
  /** The actor issuing runs as: the disposal job's. */
  system?: Actor;
}

/** A certificate as stored: `json` is exactly what is served, so its SHA-256 never changes. */
export interface IssuedCertificate {
  id: string;
  batchId: string;
  organisationId: string;
  issuedAt: string;
  json: string;
  /** SHA-256 (hex) of `json`: printed on the PDF so the paper points at the machine-checkable copy. */
  jsonSha256: string;
  certificate: DestructionCertificate;
}

export interface CertificateSummary {
  id: string;
  batchId: string;
  issuedAt: string;
  executedAt: string;
  destroyed: number;
  proposed: number;
  authorisedBy: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export class CertificatesService {
  /** One issue per batch at a time in this process; across processes the batch's unique certificate row decides. */
  private readonly issuing = new Map<string, Promise<IssuedCertificate>>();

  constructor(protected readonly o: CertificatesServiceOptions) {}

  private get system(): Actor {
    return this.o.system ?? systemActor('job');
  }

  /**
   * Issues the certificate of an executed batch (the disposal job calls it once the batch is carried
   * out). Idempotent: a batch that has a certificate gets that one back.
   */
  issue(batchId: string): Promise<IssuedCertificate> {
    let run = this.issuing.get(batchId);
    if (!run) {
      run = this.issueOnce(batchId).finally(() => this.issuing.delete(batchId));
      this.issuing.set(batchId, run);
    }
    return run;
  }

  private async issueOnce(batchId: string): Promise<IssuedCertificate> {
    const repos = this.o.store.repos;
    const batch = await repos.disposal.batch(batchId);
    if (!batch) throw notFound('disposal batch');
    if (batch.certificateId) return this.load(batch.certificateId);
    if (batch.status !== 'executed') throw conflict(`Disposal batch ${batchId} has not been carried out yet: its certificate of destruction is issued once it has been.`);
    const organisationId = batch.organisationId;
    const decision = await this.o.access.requireOrganisation(this.system, 'records.dispose', organisationId, { batchId }, { missing: 'disposal batch' });
    const [items, stubs, organisation, series] = await Promise.all([
      repos.disposal.items(batchId), repos.disposal.stubs(batchId), repos.organisations.byId(organisationId), repos.retention.listSeries(organisationId),
    ]);
    if (!organisation) throw notFound('organisation');
    // The batch's events all come after it was proposed; a day's margin covers processes whose clocks disagree.
    const from = new Date(Date.parse(batch.createdAt) - 86_400_000).toISOString();
    // The destruction events, and the decisions and approval that authorised it: who authorised it is
    // taken from the proven approval event, never from the batch's approved_by column.
    const proof = await this.o.audit.proveEvents(organisationId, {
      actions: PROVEN_ACTIONS, from, match: (e) => e.targetIds.batchId === batchId && e.decision === 'allow',
    });
    // Which holds kept an item at execution: those the job's refusals recorded then (proveEvents sequenced them).
    const held = await this.holdsAtExecution(organisationId, batchId, from, items.filter((i) => i.outcome === 'held').map((i) => i.documentId));
    const approverId = proof.events.find((e) => e.event.action === APPROVE_ACTION)?.event.actorUserId ?? null;
    const approver = approverId ? await repos.users.byId(approverId) : undefined;
    // An early batch's proposer, named beside its approver: by the proven proposal events too, never the batch's row.
    const proposerId = proof.events.find((e) => e.event.action === PROPOSE_EARLY_ACTION)?.event.actorUserId ?? null;
    const proposer = proposerId ? await repos.users.byId(proposerId) : undefined;
    const now = this.o.clock.now();
    const certificate = buildCertificate({
      id: randomUUID(), issuedAt: now.toISOString(), batch, items, stubs, organisation: { id: organisation.id, name: organisation.name }, series,
      approverName: () => approver?.name ?? '(unknown)', proposerName: () => proposer?.name ?? '(unknown)', heldAtExecution: held, proof,
    }, { sign: (text) => this.o.audit.signStatement(text), verifierKey: this.o.audit.verifierKey });
    const json = serialiseCertificate(certificate);
    try {
      await this.o.store.transaction(async (tx) => {
        // The certificate row first: its batch id is unique, so of two issuers only one commits.
        await tx.disposal.insertCertificate({ id: certificate.id, batchId, organisationId, issuedAt: certificate.issuedAt, body: json });
        await tx.disposal.setStatus(batchId, 'executed', 'executed', { certificateId: certificate.id });
        // What stays of each destroyed document points at the proof of its destruction.
        await tx.disposal.setStubsCertificate(batchId, certificate.id);
        await tx.audit.insert([auditEvent(this.system, 'disposal.certificate', {
          organisationId, ids: { batchId, certificateId: certificate.id, sha256: sha256(json) },
        }, decision, now)]);
      });
    } catch (err) {
      const again = await repos.disposal.batch(batchId);
      if (again?.certificateId) return this.load(again.certificateId);
      throw err;
    }
    return { id: certificate.id, batchId, organisationId, issuedAt: certificate.issuedAt, json, jsonSha256: sha256(json), certificate };
  }

  /**
   * The hold that kept each of these documents when the disposal job refused to destroy it: the hold its refusal
   * names (`document.dispose`, denied `legal_hold`, the hold's id in its ids; the latest, should the job have run
   * more than once), by the name the register gives that hold. Not the holds in force when the certificate is
   * issued, which may be later than the execution (the log not yet signed): a hold released since would leave a
   * held record kept by nothing, and one placed since would be certified as having kept it. Only refusals that
   * vouch for what they say (under their seal, in the tree: AuditRepository.refusedEvents), and only the batch's
   * organisation's holds: until the evening of 7 December any row with a seq was taken, so a refusal rewritten or
   * written into the database had the certificate, under the log's signature, name a hold of the writer's
   * choosing, another council's included. A record whose refusal vouches for no hold is certified held by none named.
   */
  private async holdsAtExecution(organisationId: string, batchId: string, from: string, documentIds: readonly string[]): Promise<Map<string, HoldRef[]>> {
    const out = new Map<string, HoldRef[]>();
    if (documentIds.length === 0) return out;
    const repos = this.o.store.repos;
    const wanted = new Set(documentIds);
    const refusals = (await repos.audit.refusedEvents(['document.dispose'], { organisationId, documentIds }))
      .filter((e) => e.time >= from && e.reason === 'legal_hold' && e.targetIds.batchId === batchId && wanted.has(e.targetIds.documentId ?? '') && e.targetIds.holdId !== undefined)
      .sort((a, b) => a.seq - b.seq);
    const holdOf = new Map(refusals.map((e) => [e.targetIds.documentId!, e.targetIds.holdId!]));
    for (const [documentId, holdId] of holdOf) {
      const hold = await repos.holds.byId(holdId);
      out.set(documentId, [{ id: holdId, name: hold?.organisationId === organisationId ? hold.name : '(unknown hold)' }]);
    }
    return out;
  }

  private async load(id: string): Promise<IssuedCertificate> {
    const row = await this.o.store.repos.disposal.certificate(id);
    if (!row) throw notFound('certificate');
    return { ...row, json: row.body, jsonSha256: sha256(row.body), certificate: JSON.parse(row.body) as DestructionCertificate };
  }

  /**
   * A batch's certificate, for the organisation's records managers, auditors and DPOs (`records.read`);
   * never a partner's staff, whatever their arrangement. A batch carried out whose certificate could not
   * be issued then (the audit log was not yet signed) gets it now.
   */
  async get(actor: Actor, batchId: string): Promise<IssuedCertificate> {
    const batch = await this.o.store.repos.disposal.batch(batchId);
    if (!batch) throw notFound('disposal batch');
    await this.o.access.requireOrganisation(actor, 'records.read', batch.organisationId, { batchId }, { missing: 'disposal batch' });
    if (batch.certificateId) return this.load(batch.certificateId);
    if (batch.status !== 'executed') throw conflict(`Disposal batch ${batchId} has not been carried out yet: its certificate of destruction is issued once it has been.`);
    return this.issue(batchId);
  }

  /** The paper copy (PDF) of a batch's certificate, streamed; same access as `get`. */
  async pdf(actor: Actor, batchId: string): Promise<{ certificate: IssuedCertificate; stream: Readable }> {
    const certificate = await this.get(actor, batchId);
    return { certificate, stream: this.o.renderer.pdf(certificate.certificate, { jsonSha256: certificate.jsonSha256, verifierKey: this.o.audit.verifierKey }) };
  }

  /** The organisation's certificates, newest batch first (`records.read` on it). */
  async list(actor: Actor, organisationId = actor.organisationId ?? ''): Promise<CertificateSummary[]> {
    await this.o.access.requireOrganisation(actor, 'records.read', organisationId);
    const repos = this.o.store.repos;
    const batches = (await repos.disposal.batches(organisationId, 1000)).filter((b) => b.certificateId !== null);
    const summaries: CertificateSummary[] = [];
    for (const b of batches) {
      const { certificate: c } = await this.load(b.certificateId!);
      summaries.push({ id: c.id, batchId: c.batchId, issuedAt: c.issuedAt, executedAt: c.executedAt, destroyed: c.counts.destroyed, proposed: c.counts.proposed, authorisedBy: c.authorisedBy.name });
    }
    return summaries;
  }
}
