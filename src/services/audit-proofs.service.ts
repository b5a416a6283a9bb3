// What the audit log vouches for, to be checked offline against its key: an organisation's events with
// inclusion proofs (`audit export`), the events a certificate of destruction cites with theirs, and
// statements signed with the log's key (never a checkpoint: only the signer signs those).
import { buildBundle, type AuditBundle, type BundleEvent } from '../domain/audit/bundle.js';
import type { AuditEvent } from '../domain/audit/event.js';
import { parseCheckpoint, signNote } from '../domain/audit/signed-note.js';
import { conflict, IntegrityError, notFound } from '../domain/errors.js';
import type { Actor } from '../domain/types.js';
import { auditEvent } from './audit-events.js';
import type { AuditServiceOptions } from './audit-log-options.js';
import type { AuditSequencerService } from './audit-sequencer.service.js';
import { memoised, subtreesOf } from './audit-log-check.js';

export class AuditProofsService {
  constructor(private readonly o: Pick<AuditServiceOptions, 'store' | 'access' | 'clock' | 'signerKey' | 'verifierKey'> & { sequencer: Pick<AuditSequencerService, 'flush'> }) {}

  get verifierKey(): string {
    return this.o.verifierKey;
  }

  /** An organisation's events with inclusion proofs against the newest checkpoint, for offline checking. */
  async exportOrganisation(actor: Actor, organisationId: string, options: { sinceSize?: number } = {}): Promise<AuditBundle> {
    // decide() lets the system (the CLI) and the organisation's own auditors and DPOs export it.
    const decision = await this.o.access.requireOrganisation(actor, 'audit.export', organisationId, { organisationId });
    // The export itself is an event, and is in the bundle it produces.
    await this.o.store.repos.audit.insert([auditEvent(actor, 'audit.export', { organisationId, ids: { organisationId } }, decision, this.o.clock.now())]);
    await this.o.sequencer.flush();
    const repos = this.o.store.repos;
    const latest = await repos.audit.latestCheckpoint();
    if (!latest) throw notFound('checkpoint');
    const events = (await repos.audit.forOrganisation(organisationId)).filter((e) => e.seq < latest.treeSize);
    const earlier = (await repos.audit.checkpoints()).filter((c) => c.treeSize < latest.treeSize && c.treeSize > 0).slice(-20).map((c) => c.note);
    return buildBundle({
      organisationId,
      checkpoint: latest.note,
      verifierKey: this.o.verifierKey,
      events,
      subtrees: subtreesOf(repos),
      earlierCheckpoints: earlier,
      consistencyFromSizes: options.sinceSize ? [options.sinceSize] : [],
    });
  }

  /**
   * Sequences everything pending, makes sure a signed checkpoint covers it, and returns the events of
   * `organisationId` with one of `actions` since `from` that `match` picks, each with its inclusion
   * proof against that checkpoint. For certificates of destruction: no actor, because it discloses
   * nothing by itself; whoever is shown the result was authorised by the caller.
   */
  async proveEvents(organisationId: string, criteria: { actions: readonly string[]; from: string; match: (event: AuditEvent) => boolean }): Promise<{ checkpoint: string; events: BundleEvent[] }> {
    await this.o.sequencer.flush();
    const repos = this.o.store.repos;
    const latest = await repos.audit.latestCheckpoint();
    const events: AuditEvent[] = [];
    for (const action of criteria.actions) {
      events.push(...(await repos.audit.query({ organisationId, action, from: criteria.from, limit: 1_000_000 })).filter(criteria.match));
    }
    const unsigned = events.filter((e) => !latest || e.seq >= latest.treeSize);
    if (!latest || unsigned.length > 0) {
      // Only when signing has stopped (the alarm) or another signer has not yet published.
      throw conflict(`The audit log has not yet signed a checkpoint covering event ${unsigned[0]?.seq ?? 0}: the certificate cannot be proven yet. Try again in a minute; if it persists, see "strongroom audit verify".`);
    }
    // Proofs of neighbouring events share most of their nodes: fetch each once.
    const bundle = await buildBundle({ organisationId, checkpoint: latest.note, verifierKey: this.o.verifierKey, events, subtrees: memoised(subtreesOf(repos)) });
    return { checkpoint: bundle.checkpoint, events: bundle.events };
  }

  /**
   * Signs a statement (note text) with the log's key, e.g. the digest of a certificate of destruction.
   * Never a checkpoint: those are signed only by the signer above, after it checked that the tree extends
   * everything signed before, so text that would read as a checkpoint is refused.
   */
  signStatement(text: string): string {
    let readsAsCheckpoint = true;
    try {
      parseCheckpoint(text);
    } catch {
      readsAsCheckpoint = false;
    }
    if (readsAsCheckpoint) throw new IntegrityError('Refused to sign a statement that reads as a checkpoint.');
    return signNote(text, this.o.signerKey);
  }
}
