// Malware verdicts after the upload: the scan job for pending versions, rescans after a signature
// update, and the security admin's quarantine workflow (list, release with a reason, destroy).
import { DomainError, conflict, forbidden, invalid, notFound } from '../domain/errors.js';
import type { Clock, EncryptedBlobs, ScanVerdict, Scanner } from '../domain/ports.js';
import type { Actor, Classification, Document, Version } from '../domain/types.js';
import type { JobCompletion, Repos, Store } from '../domain/repositories.js';
import type { Decision } from '../domain/access/policy.js';
import { collectionResource, documentResource, type AccessService } from './access.service.js';
import { shredVersions } from './shredding.js';
import type { QuarantineNotifier } from './quarantine-notifier.js';
import { auditEvent, type AuditTarget } from './audit-events.js';
import { rescanJob } from '../domain/jobs/kinds.js';
import { chargedToAuthor, type DocumentLifecycle } from './lifecycle.js';
import { formatBytes } from './ingest.js';
import { judgedInSegments, scanInSegments, type SegmentPlan } from './segmented-scan.js';
import type { PersonNamesService } from './person-names.service.js';
import { olderSignatures } from '../domain/scanning/signature-versions.js';

/** What every reader of a released version is told of the release: that it happened, never the reason. */
export const RELEASED_AFTER_REVIEW = 'released after review by a security admin';

/** The latest signature set any worker's clamd reported, and when one last reported it (an ISO instant). */
const SIGNATURE_VERSION = 'scanner.signature-version';
const SIGNATURE_VERSION_CONFIRMED = 'scanner.signature-version-confirmed-at';
/** A latest set no clamd has reported for this long is taken to be none that any has (checks run every minute). */
export const LATEST_UNCONFIRMED_MS = 3_600_000;
const CONFIRM_EVERY_MS = 5 * 60_000;

const releasedDetail = (detail: string | null): string => (detail ? `${detail} — ${RELEASED_AFTER_REVIEW}` : RELEASED_AFTER_REVIEW);

/**
 * One version in quarantine, as the actor may see it. A file above the actor's clearance is shown redacted
 * ("a file classified OFFICIAL-SENSITIVE in payroll"): `document` is null, and so is `collection` when the
 * folder's own classification is above it too. What a security admin needs to act is always there: the
 * verdict, size, time, uploader and service area, and whether they may release or destroy it.
 */
export interface QuarantinedItem {
  versionId: string;
  /**
   * The version without its plaintext hash when redacted (a hash confirms a guess at a classified file), and
   * without its uploader's id (`authorId` null) for a reader who may not identify them (another council's staff).
   */
  version: Omit<Version, 'wrappedKey' | 'blobId' | 'keyId' | 'sha256'> & { sha256: string | null };
  classification: Classification;
  serviceArea: string;
  /** Null: the file is above the actor's clearance (quarantine.identify refused), so its name is not shown. */
  document: Document | null;
  /** Null: the collection is above the actor's clearance too. */
  collection: { id: string; name: string } | null;
  /** Asked of the same decide() that release and destroy enforce. */
  may: { release: boolean; destroy: boolean };
}

/**
 * What a quarantine destroy did, for the page to say: the version alone; the version, the document going back
 * to its latest readable version (`currentVersion`); or the document with it (no readable version was left).
 */
export type DestroyOutcome =
  | { kind: 'version'; documentId: string }
  | { kind: 'reverted'; documentId: string; currentVersion: number }
  | { kind: 'document'; documentId: string };

export class QuarantineService {
  constructor(
    private readonly o: {
      store: Store; access: AccessService; blobs: EncryptedBlobs; scanner: Scanner; notifier: QuarantineNotifier; clock: Clock; system: Actor; rescanDays: number; lifecycle: DocumentLifecycle;
      /** Who a version's uploader is, as the reader may know them (a partner's staff are not named by id). */
      personNames: Pick<PersonNamesService, 'identities'>;
      /** How large versions are cut for clamd so a scan's RAM stays bounded (services/segmented-scan.ts). */
      segments: SegmentPlan;
    },
  ) {}

  async list(actor: Actor): Promise<QuarantinedItem[]> {
    const organisationId = await this.requireSecurityAdmin(actor, 'quarantine.list');
    const repos = this.o.store.repos;
    const versions = await repos.documents.versionsByScanStatus(['infected', 'held', 'pending'], organisationId);
    // A destroyed version keeps scan_status 'infected' but has no key left: it is no longer in quarantine.
    const kept = versions.filter((v) => v.wrappedKey.length > 0);
    const documents = new Map((await repos.documents.byIds([...new Set(kept.map((v) => v.documentId))])).map((d) => [d.id, d]));
    const rows = kept.flatMap((version) => {
      const document = documents.get(version.documentId);
      return document ? [{ version, document }] : [];
    });
    const collections = new Map((await repos.collections.byIds([...new Set(rows.map((r) => r.document.collectionId))])).map((c) => [c.id, c]));
    // Every answer from decide(): naming the file, naming its folder, releasing and destroying it.
    const questions = rows.flatMap(({ document }) => {
      const collection = collections.get(document.collectionId);
      const resource = documentResource(document);
      return [
        { action: 'quarantine.identify' as const, resource },
        { action: 'quarantine.identify' as const, resource: collection ? collectionResource(collection) : resource },
        { action: 'quarantine.release' as const, resource },
        { action: 'quarantine.destroy' as const, resource },
      ];
    });
    const answers = await this.o.access.can(actor, questions);
    // The uploader's id only for a reader decide() lets identify them, as a document's versions give it: a
    // host's staff uploading into a partner's folder through the arrangement are not the partner's to name.
    const authors = await this.o.personNames.identities(actor, rows.flatMap(({ version }) => (version.authorId ? [version.authorId] : [])), organisationId);
    return rows.map(({ version, document }, i) => {
      const [identify, identifyFolder, release, destroy] = answers.slice(i * 4, i * 4 + 4);
      const collection = collections.get(document.collectionId);
      const { wrappedKey: _key, blobId: _blob, keyId: _keyId, ...shown } = version;
      return {
        versionId: version.id,
        version: { ...shown, sha256: identify ? version.sha256 : null, authorId: version.authorId && authors.get(version.authorId)?.identified ? version.authorId : null },
        classification: document.classification,
        serviceArea: document.serviceArea,
        document: identify ? document : null,
        collection: (identify || identifyFolder) && collection ? { id: collection.id, name: collection.name } : null,
        may: { release: release === true, destroy: destroy === true },
      };
    });
  }

  async release(actor: Actor, versionId: string, reason: string): Promise<void> {
    const { document, version, decision } = await this.quarantinedVersion(actor, versionId, 'quarantine.release');
    const why = reason.trim();
    if (why.length < 10) throw invalid('Explain in at least 10 characters why this file is safe to release.', { field: 'reason' });
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      await this.o.access.holdActing(repos, actor);
      // Decided again under the row lock a change takes, on the version as it is now: one released or destroyed
      // meanwhile is not released again, and a hold placed since the decision above refuses the release (which
      // would change the held document's content), audited and told once this rolls back.
      await repos.holds.lockForChanging({ documentIds: [document.id], collectionIds: [] });
      const now2 = await repos.documents.versionById(version.id);
      if (!now2 || now2.wrappedKey.length === 0 || (now2.scanStatus !== 'infected' && now2.scanStatus !== 'held')) throw invalid('That version is not in quarantine.');
      await this.o.access.requireWithin(repos, actor, [{
        action: 'quarantine.release', resource: documentResource(document), target: { organisationId: document.organisationId, ids: { documentId: document.id, versionId } },
      }]);
      // The reason is the security admin's judgement of the file, as classified as the file and not for its
      // readers (a partner's staff among them): kept apart from the detail every reader is shown, which says
      // only that it was released after review. The event holds neither it nor its hash: events hold no free
      // text, and the access history shows events to readers who could test a guess against a plain hash.
      await repos.documents.updateVersionScan(version.id, {
        status: 'released', detail: releasedDetail(version.scanDetail), engine: version.scanEngine, at: now.toISOString(), releaseReason: why,
      });
      const latest = Math.max(...(await repos.documents.versions(document.id)).map((v) => v.number));
      if (version.number === latest || document.currentVersionId === version.id) {
        await repos.documents.setCurrentVersion(document.id, document.currentVersion, version, 'available', now.toISOString());
      }
      await repos.audit.insert([auditEvent(actor, 'quarantine.release', { organisationId: document.organisationId, ids: { documentId: document.id, versionId } }, decision, now)]);
      await this.o.lifecycle.raise({ jobs: repos.jobs, search: repos.search, now }, { type: 'version.readable', organisationId: document.organisationId, documentId: document.id, versionId, bytes: version.size, chargedTo: await chargedToAuthor(repos.users, version) });
    }).catch(async (error: unknown) => {
      throw await this.o.access.afterRollback(actor, error);
    });
  }

  /**
   * Destroys a quarantined version: its data key is erased, so no copy of the blob can be read again, and
   * its blob deleted. When it is the document's current version, the document goes back to its latest
   * version that is readable (clean or released, its key intact): an infected new version destroyed
   * leaves the record as it was before it. With none, the document is destroyed, and every version it
   * has left is shredded with it and their blobs queued for deletion, as disposal does: nothing of a
   * document nobody can reach is left at rest. Audited with which of the two it was.
   */
  async destroy(actor: Actor, versionId: string): Promise<DestroyOutcome> {
    const { document, version, decision } = await this.quarantinedVersion(actor, versionId, 'quarantine.destroy');
    const now = this.o.clock.now();
    const at = now.toISOString();
    const outcome = await this.o.store.transaction(async (repos): Promise<DestroyOutcome> => {
      await this.o.access.holdActing(repos, actor);
      // The document and its versions as they are now, under the lock a destruction takes (a version committed,
      // released or destroyed meanwhile is seen here, not what was read before).
      await repos.holds.lockForDestroying(document.id);
      const current = await repos.documents.byId(document.id);
      const versions = current ? await repos.documents.versions(current.id) : [];
      const destroyed = versions.find((v) => v.id === version.id);
      if (!current || !destroyed || destroyed.wrappedKey.length === 0 || (destroyed.scanStatus !== 'infected' && destroyed.scanStatus !== 'held')) throw invalid('That version is not in quarantine.');
      // Decided again under that lock, with the holds as they are now: a hold placed since the decision above refuses
      // the destruction (which may shred every version the document has), audited and told once this rolls back.
      await this.o.access.requireWithin(repos, actor, [{
        action: 'quarantine.destroy', resource: documentResource(current), target: { organisationId: current.organisationId, ids: { documentId: current.id, versionId } },
      }]);
      const wasCurrent = current.currentVersionId === version.id && current.status !== 'disposed';
      const fallback = wasCurrent
        ? versions.filter((v) => v.id !== version.id && (v.scanStatus === 'clean' || v.scanStatus === 'released') && v.wrappedKey.length > 0).at(-1)
        : undefined;
      const disposing = wasCurrent && fallback === undefined;
      const shredded = disposing ? versions.filter((v) => v.wrappedKey.length > 0) : [destroyed];
      await shredVersions(repos, current.organisationId, shredded, now);
      await repos.documents.updateVersionScan(version.id, { status: destroyed.scanStatus, detail: `${destroyed.scanDetail ?? ''} — destroyed`, engine: destroyed.scanEngine, at });
      if (fallback) {
        if (!(await repos.documents.setCurrentVersion(current.id, current.currentVersion, fallback, 'available', at))) throw conflict('The document changed at the same moment; try again.');
      } else if (disposing) {
        await repos.documents.update(current.id, { status: 'disposed' }, at);
      }
      const told: Record<string, string> = fallback ? { currentVersionId: fallback.id } : disposing ? { documentDestroyed: 'true', versionsShredded: String(shredded.length) } : {};
      await repos.audit.insert([auditEvent(actor, 'quarantine.destroy', { organisationId: current.organisationId, ids: { documentId: current.id, versionId, ...told } }, decision, now)]);
      await this.o.lifecycle.raise({ jobs: repos.jobs, search: repos.search, now }, {
        type: 'document.destroyed', organisationId: current.organisationId, documentId: current.id, versionIds: shredded.map((v) => v.id), disposed: disposing,
      });
      return fallback ? { kind: 'reverted', documentId: current.id, currentVersion: fallback.number } : { kind: disposing ? 'document' : 'version', documentId: current.id };
    }).catch(async (error: unknown) => {
      throw await this.o.access.afterRollback(actor, error);
    });
    // At once as well as by the queued job: the infected bytes go now.
    await this.o.blobs.delete(version.blobId).catch(() => undefined);
    return outcome;
  }

  /** Existence and permission first (another organisation's version is refused by decide(), audited, 404), shape second. */
  private async quarantinedVersion(actor: Actor, versionId: string, action: 'quarantine.release' | 'quarantine.destroy') {
    const version = await this.o.store.repos.documents.versionById(versionId);
    if (!version) throw notFound('version');
    const document = await this.o.store.repos.documents.byId(version.documentId);
    const ids = { documentId: version.documentId, versionId };
    // Both are asked of the document, so a legal hold over it wins (409, the hold named) for the security
    // admin too: destroying would destroy held content, and releasing would change it (a released later
    // version becomes current). Without the document, only the organisation's question is left to ask.
    const decision = document
      ? await this.itemDecision(actor, action, document, { organisationId: version.organisationId, ids })
      : await this.o.access.requireOrganisation(actor, action, version.organisationId, ids, { missing: 'version' });
    if ((version.scanStatus !== 'infected' && version.scanStatus !== 'held') || version.wrappedKey.length === 0) throw invalid('That version is not in quarantine.');
    if (!document) throw notFound('document');
    return { document, version, decision };
  }

  /**
   * Both are asked of the document: a hold over it refuses destroying and releasing (409, the hold named); a release
   * above the actor's clearance is refused plainly (403), since the quarantine list already showed them the
   * item, redacted. Anyone else (not a security admin, another organisation) is refused as not there (404).
   */
  private async itemDecision(actor: Actor, action: 'quarantine.release' | 'quarantine.destroy', document: Document, target: AuditTarget): Promise<Decision> {
    const resource = documentResource(document);
    const [listed] = await this.o.access.can(actor, [{ action: 'quarantine.list', resource: { kind: 'organisation', organisationId: document.organisationId } }]);
    if (!listed) return this.o.access.require(actor, action, resource, target, { missing: 'version' });
    const decision = await this.o.access.check(actor, action, resource, target);
    if (decision.allow) return decision;
    if (decision.reason === 'clearance') {
      throw forbidden(`This file is classified ${document.classification}, above your clearance: a security admin cleared to ${document.classification} must release it. You can still destroy it.`);
    }
    if (decision.hold) throw await this.o.access.heldError(actor, 'document', document.organisationId, decision.hold);
    throw notFound('version');
  }

  private async requireSecurityAdmin(actor: Actor, action: 'quarantine.list' | 'quarantine.release' | 'quarantine.destroy'): Promise<string> {
    const organisationId = actor.organisationId ?? '';
    await this.o.access.requireOrganisation(actor, action, organisationId);
    return organisationId;
  }

  /**
   * The scan job writes a verdict onto a version: asked of decide() as the system, like any other
   * write, as its own action, which a legal hold does not freeze (a held upload still gets its verdict).
   */
  private systemWrite(document: Document, versionId: string): Promise<Decision> {
    return this.o.access.require(this.o.system, 'document.scan-verdict', documentResource(document), { organisationId: document.organisationId, ids: { documentId: document.id, versionId } });
  }

  /**
   * The scan job: streams a pending version, decrypted in memory, through clamd (whole, or in
   * segments when larger than the whole-scan limit). Throws when clamd gives no verdict for now
   * so the job queue retries with backoff (fail closed meanwhile). What clamd cannot judge — past
   * its limits, or a structured file it only saw in segments — is held for a security admin. The
   * verdict is recorded in one transaction with the job's completion when the worker hands one.
   * `signal`: the run's lease was lost (another run, perhaps another slot of the same worker, holds the job
   * now and scans it itself), so this run's scan stops and gives clamd's thread and its stream back.
   */
  async scanPending(versionId: string, completion?: JobCompletion, signal?: AbortSignal): Promise<'clean' | 'infected' | 'held' | 'skipped'> {
    const repos = this.o.store.repos;
    const version = await repos.documents.versionById(versionId);
    // Destroyed meanwhile (its key erased with its document's disposal): nothing is left to scan or to read.
    if (!version || version.scanStatus !== 'pending' || version.wrappedKey.length === 0) return 'skipped';
    const verdict = await this.scanVersion(version, signal);
    if (verdict.outcome === 'unavailable' && !verdict.beyondLimits) throw new DomainError('UNAVAILABLE', `Malware scanner unavailable: ${verdict.reason}`);
    const document = await repos.documents.byId(version.documentId);
    if (!document) return 'skipped';
    const decision = await this.systemWrite(document, version.id);
    const now = this.o.clock.now();
    const review = verdict.outcome === 'infected' ? null : this.reviewNeeded(version, verdict);
    return this.o.store.transaction(async (trx) => {
      // The scan took a while: the verdict applies to what the version and its document are now.
      const held = await this.lockedForVerdict(trx, version);
      // A disposal or bin purge shreds the key and leaves the scan status pending: the scan job (availability lane)
      // runs beside both (background lane), so the key is read again here, as the rescan does.
      if (!held || held.version.scanStatus !== 'pending' || held.version.wrappedKey.length === 0) {
        // Decided meanwhile (released, destroyed, or scanned by another run): that decision stands.
        await completion?.(trx);
        return 'skipped';
      }
      const { current } = held;
      const isCurrent = current.currentVersionId === version.id && current.status !== 'disposed';
      if (verdict.outcome === 'infected') {
        await trx.documents.updateVersionScan(version.id, { status: 'infected', detail: verdict.signature, engine: verdict.engine, at: now.toISOString() });
        if (isCurrent) await trx.documents.update(current.id, { status: 'quarantined' }, now.toISOString());
        await this.o.notifier.quarantined(trx, this.o.system, decision, current, version, verdict.signature);
      } else if (review) {
        const engine = verdict.outcome === 'clean' ? verdict.engine : null;
        await trx.documents.updateVersionScan(version.id, { status: 'held', detail: `held for review: ${review.reason}`, engine, at: now.toISOString() });
        if (isCurrent) await trx.documents.update(current.id, { status: 'quarantined' }, now.toISOString());
        await this.o.notifier.heldForReview(trx, this.o.system, decision, current, version, review);
      } else if (verdict.outcome === 'clean') {
        await trx.documents.updateVersionScan(version.id, { status: 'clean', detail: null, engine: verdict.engine, at: now.toISOString() });
        // Only a document still waiting on this scan becomes available: never one quarantined or disposed meanwhile.
        if (isCurrent && current.status === 'pending_scan') await trx.documents.update(current.id, { status: 'available' }, now.toISOString());
        await trx.audit.insert([auditEvent(this.o.system, 'scan.clean', { organisationId: current.organisationId, ids: { documentId: current.id, versionId } }, decision, now)]);
        await this.o.lifecycle.raise({ jobs: trx.jobs, search: trx.search, now }, { type: 'version.readable', organisationId: current.organisationId, documentId: current.id, versionId, bytes: version.size, chargedTo: await chargedToAuthor(trx.users, version) });
      }
      await completion?.(trx);
      return verdict.outcome === 'infected' ? 'infected' : review ? 'held' : 'clean';
    });
  }

  /**
   * The version's document, locked for the change (every write of a version's scan status takes its
   * document first, so the version read after it cannot change before the transaction ends), and the
   * version as it is now. Undefined when either is gone.
   */
  private async lockedForVerdict(trx: Repos, version: Version): Promise<{ current: Document; version: Version } | undefined> {
    const current = await trx.documents.byIdForChange(version.documentId);
    const now = current ? await trx.documents.versionById(version.id) : undefined;
    return current && now ? { current, version: now } : undefined;
  }

  /** Why a version clamd did not find malware in still may not be released on that word alone (null: it may). */
  private reviewNeeded(version: Version, verdict: Exclude<ScanVerdict, { outcome: 'infected' }>): { code: string; reason: string } | null {
    if (verdict.outcome === 'unavailable' && verdict.encrypted) {
      // Too late to refuse (it is stored): held, whatever the organisation's policy on protected files, never released unread.
      return { code: 'archive_encrypted', reason: `something inside this file is protected by a password, so it could not be checked for viruses (${verdict.encrypted})` };
    }
    if (verdict.outcome === 'unavailable') {
      return { code: 'scan_limits', reason: `the malware scanner cannot judge this file within its limits (${verdict.reason})` };
    }
    if (version.size > this.o.segments.wholeMaxBytes && !judgedInSegments(version.mediaType)) {
      return {
        code: 'scan_segments_only',
        reason: `the file (${version.mediaType}, ${formatBytes(version.size)}) is larger than the ${formatBytes(this.o.segments.wholeMaxBytes)} the malware scanner reads whole, `
          + 'and its structure cannot be judged in parts; clamd found nothing in the parts it read',
      };
    }
    return null;
  }

  /**
   * Compares the scanner's signature version with the latest seen; when it is newer, queues a rescan
   * of the last `rescanDays` days' versions. A set known to be older (a worker whose clamd has not yet
   * had the update another's has; domain/scanning/signature-versions.ts) changes nothing while some
   * clamd has reported the latest within `LATEST_UNCONFIRMED_MS`: until 7 December the latest seen flipped
   * between two workers' sets at every check, each flip a rescan. A latest no clamd has reported for
   * that long (written by hand, a clamd rolled back, its node gone) is noticed: the set this clamd has
   * replaces it, with a rescan, as any change did before; kept, a number above every real one would
   * have stopped every rescan for good. Returns true when a rescan was queued.
   */
  async checkSignatureVersion(): Promise<boolean> {
    const version = await this.o.scanner.version();
    const settings = this.o.store.repos.settings;
    const seen = await settings.get(SIGNATURE_VERSION);
    const now = this.o.clock.now();
    if (seen === version) {
      await this.confirmLatest(now);
      return false;
    }
    if (seen !== undefined && olderSignatures(version, seen)) {
      // Counted from the first check that looks, where no report was recorded (a vault older than this rule).
      const confirmed = Date.parse(await settings.claim(SIGNATURE_VERSION_CONFIRMED, now.toISOString()));
      if (!(now.getTime() - confirmed > LATEST_UNCONFIRMED_MS)) return false;
    }
    return this.o.store.transaction(async (repos) => {
      // Only over the value read: another worker that read it too and wrote first decided (and queued its
      // rescan); writing after it could put the record back to an older set and queue a second rescan.
      if (!(await repos.settings.replace(SIGNATURE_VERSION, seen, version))) return false;
      await repos.settings.set(SIGNATURE_VERSION_CONFIRMED, now.toISOString());
      // The first version ever seen is the baseline: everything stored so far was scanned with it.
      if (seen === undefined) return false;
      const since = new Date(now.getTime() - this.o.rescanDays * 86_400_000).toISOString();
      await repos.jobs.enqueue(rescanJob, { since, signatures: version }, { now, organisationId: null });
      return true;
    });
  }

  /** This clamd reports the latest set: recorded, at most every `CONFIRM_EVERY_MS`, so a lagging clamd's older set stays ignored. */
  private async confirmLatest(now: Date): Promise<void> {
    const settings = this.o.store.repos.settings;
    const confirmed = await settings.get(SIGNATURE_VERSION_CONFIRMED);
    if (confirmed !== undefined && now.getTime() - Date.parse(confirmed) < CONFIRM_EVERY_MS) return;
    await settings.set(SIGNATURE_VERSION_CONFIRMED, now.toISOString());
  }

  /**
   * After a restore from a backup taken at `backup.createdAt`: the database is as it was then, so a
   * version a rescan found infected after the backup (and a security admin may since have destroyed:
   * the backup holds its key, a write-once replica its bytes) is back, marked clean. Every rescan since
   * the backup looked back `rescanDays` from its own day; this one looks back as far as the earliest of
   * them could, from the backup's day, with the signatures clamd has now. The rescan at start-up, from
   * today, leaves out what is older than `rescanDays` now. Queued in the restore; the worker runs it.
   */
  async rescanAfterRestore(backup: { id: string; createdAt: string }): Promise<void> {
    const taken = Date.parse(backup.createdAt);
    if (!Number.isFinite(taken)) throw new Error(`The backup's time "${backup.createdAt}" is not a date.`);
    const since = new Date(taken - this.o.rescanDays * 86_400_000).toISOString();
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      await repos.jobs.enqueue(rescanJob, { since, signatures: `restore:${backup.id}` }, { now, organisationId: null });
    });
  }

  /**
   * After a signature update: rescans recent clean versions and quarantines any now detected.
   * Returns how many were newly quarantined.
   */
  async rescanSince(since: Date, signatures?: string): Promise<{ scanned: number; quarantined: number }> {
    const repos = this.o.store.repos;
    if (signatures !== undefined) {
      // The job runs on whichever worker leases it, with that worker's clamd: one that has not yet had the update
      // the rescan was queued for would scan with the older set and finish it, and the rescan for the newer set
      // (the only one queued, since older sets no longer queue one) would never happen. Retried with backoff,
      // on this worker once its clamd has caught up or on another; a dead letter if none catches up.
      const mine = await this.o.scanner.version();
      if (olderSignatures(mine, signatures)) throw new DomainError('UNAVAILABLE', `This worker's clamd has signatures ${mine}, older than ${signatures}, which the rescan was queued for.`);
    }
    let scanned = 0;
    let quarantined = 0;
    let after = '';
    for (;;) {
      const batch = await repos.documents.versionsSince(since.toISOString(), 200, after);
      if (batch.length === 0) break;
      for (const version of batch) {
        after = version.id;
        if (version.scanStatus === 'released') continue;
        // Crypto-shredded (disposed, or purged from the bin) but still marked clean: nobody can read it,
        // and it cannot be read to scan. Trying threw, failing the whole rescan, every version after it unscanned.
        if (version.wrappedKey.length === 0) continue;
        const verdict = await this.scanVersion(version);
        // Past the scanner's limits now (they were lowered): the earlier verdict stands; asking again will not help.
        if (verdict.outcome === 'unavailable' && !verdict.beyondLimits) throw new DomainError('UNAVAILABLE', `Malware scanner unavailable: ${verdict.reason}`);
        scanned += 1;
        if (verdict.outcome !== 'infected') continue;
        const document = await repos.documents.byId(version.documentId);
        if (!document) continue;
        const decision = await this.systemWrite(document, version.id);
        const now = this.o.clock.now();
        const applied = await this.o.store.transaction(async (trx) => {
          // As when a pending scan ends: applied to the version and document as they are now, and
          // never over a decision made meanwhile (released by a security admin, or destroyed).
          const held = await this.lockedForVerdict(trx, version);
          if (!held || held.version.scanStatus !== version.scanStatus || held.version.wrappedKey.length === 0) return false;
          const { current } = held;
          await trx.documents.updateVersionScan(version.id, { status: 'infected', detail: verdict.signature, engine: verdict.engine, at: now.toISOString() });
          if (current.currentVersionId === version.id && current.status !== 'disposed') await trx.documents.update(current.id, { status: 'quarantined' }, now.toISOString());
          await this.o.notifier.quarantined(trx, this.o.system, decision, current, version, verdict.signature);
          return true;
        });
        if (applied) quarantined += 1;
      }
    }
    return { scanned, quarantined };
  }

  /** The version's plaintext through clamd: whole when it fits the whole-scan limit, else in overlapping segments. */
  private async scanVersion(version: Version, signal?: AbortSignal): Promise<ScanVerdict> {
    const ref = {
      blobId: version.blobId, organisationId: version.organisationId, documentId: version.documentId, versionId: version.id,
      keyId: version.keyId, wrappedKey: version.wrappedKey, size: version.size,
    };
    return scanInSegments(this.o.scanner, (range) => this.o.blobs.openRange(ref, range), version.size, this.o.segments, signal ? { signal } : {});
  }
}
