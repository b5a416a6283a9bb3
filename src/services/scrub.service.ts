// Scrub and self-heal: re-reads both copies of version blobs (the primary and the offsite replica) at a
// bounded rate, decrypting every chunk (which checks its AES-GCM tag) and hashing the plaintext against
// the version's SHA-256; plaintext stays in memory and is discarded. A bad or missing copy is replaced
// from the good one (written whole under the same id, then checked again); a version bad on both sides
// is reported loudly: the ledger (strongroom_blobs_unrecoverable, the admin page), a notification to the
// organisation's security admins, and the error log. Every finding and repair is an audit event.
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Decision } from '../domain/access/policy.js';
import { ArchivedBlobError, DomainError } from '../domain/errors.js';
import { replicateJob } from '../domain/jobs/kinds.js';
import type { BlobStore, Clock, EncryptedBlobs } from '../domain/ports.js';
import type { Repos, Store } from '../domain/repositories.js';
import type { Actor, Version } from '../domain/types.js';
import { auditEvent } from './audit-events.js';
import { versionRef } from './document-ingestion.js';
import type { MailService } from './mail.service.js';

/** One side: the raw store (written by repairs) and the same store behind decryption (checked, and copied from). */
export interface ScrubSide {
  store: BlobStore;
  blobs: EncryptedBlobs;
}

export interface ScrubOptions {
  /** Just this version (a download found a bad copy). */
  versionId?: string;
  /** A random sample of this many live versions. */
  sample?: number;
  /** Every live version, in id order. */
  all?: boolean;
  /** Read rate limit across both copies, bytes a second. */
  bytesPerSecond: number;
}

export interface ScrubReport {
  /** Versions whose copies were read. */
  checked: number;
  /** Bad or missing copies found. */
  findings: number;
  /** Copies replaced from the good one and found good afterwards. */
  repairs: number;
  /** Versions bad on every side this run. */
  unrecoverable: number;
  /** Versions left for next time because a store could not be read (an outage is not damage). */
  skipped: number;
  /** Versions whose replica copy is not made yet, its replication job still queued: only their primary copy was checked. */
  awaitingReplica: number;
  bytesRead: number;
}

type Copy = 'primary' | 'replica';
/** `archived`: in a cold storage class of its bucket (unreadable until restored from there), that object alone. */
type CopyState = 'good' | 'missing' | 'damaged' | 'archived' | 'unavailable';

const SYSTEM_DECISION: Pick<Decision, 'allow' | 'reason' | 'via'> = { allow: true, reason: 'system', via: null };
const PAGE = 200;

export class ScrubService {
  constructor(
    private readonly o: {
      store: Store; primary: ScrubSide; replica: ScrubSide | null; clock: Clock; logger: Logger; system: Actor;
      /** For tests: how the rate limit waits. */
      sleep?: (ms: number) => Promise<void>;
      /** Tells the security admins by e-mail too. */
      mail?: MailService;
    },
  ) {}

  /** The `scrub` job and `strongroom scrub`: the system's own work, reached from no web or API route. */
  async run(options: ScrubOptions): Promise<ScrubReport> {
    const report: ScrubReport = { checked: 0, findings: 0, repairs: 0, unrecoverable: 0, skipped: 0, awaitingReplica: 0, bytesRead: 0 };
    const limit = new RateLimit(options.bytesPerSecond, this.o.sleep, report);
    for await (const version of this.versions(options)) await this.scrubVersion(version, limit, report);
    this.o.logger.info({ ...report }, 'scrub finished');
    return report;
  }

  private async *versions(options: ScrubOptions): AsyncGenerator<Version> {
    const repos = this.o.store.repos;
    if (options.versionId !== undefined) {
      const version = await repos.documents.versionById(options.versionId);
      // A destroyed version has no key: its copies can no longer be checked, and need not be.
      if (version && version.wrappedKey.length > 0) yield version;
      return;
    }
    if (!options.all) {
      yield* await repos.replicas.liveVersions({ limit: options.sample ?? 100, random: true });
      return;
    }
    let afterId = '';
    for (;;) {
      const page = await repos.replicas.liveVersions({ limit: PAGE, afterId });
      yield* page;
      if (page.length < PAGE) return;
      afterId = page[page.length - 1]!.id;
    }
  }

  private async scrubVersion(version: Version, limit: RateLimit, report: ScrubReport): Promise<void> {
    const { primary, replica } = this.o;
    // Asked before the replica is read: a job that finishes while it is read has copied the blob, and one
    // not live before it will not copy it (finished, so the copy should be there, or dead-lettered).
    const replicating = replica !== null && await this.o.store.repos.jobs.isLive(replicateJob, { versionId: version.id });
    const states: Partial<Record<Copy, CopyState>> = { primary: await this.check(primary, version, limit) };
    if (replica) states.replica = await this.check(replica, version, limit);
    if (Object.values(states).includes('unavailable')) {
      report.skipped++;
      return;
    }
    if (replicating && states.replica === 'missing') {
      // Not there yet, as the lag gauges say: its replication job copies it. Reported as a finding and copied
      // here, it alarmed whoever reads the log (a demo's first start, every scrub behind an import's backlog).
      report.awaitingReplica++;
      delete states.replica;
    }
    report.checked++;
    const bad = (Object.entries(states) as [Copy, CopyState][]).filter(([, state]) => state !== 'good');
    report.findings += bad.length;
    const now = this.o.clock.now();
    const target = (ids: Record<string, string>) => ({ organisationId: version.organisationId, ids: { documentId: version.documentId, versionId: version.id, blobId: version.blobId, ...ids } });
    const findingEvents = bad.map(([copy, problem]) => auditEvent(this.o.system, 'storage.scrub.finding', target({ copy, problem }), SYSTEM_DECISION, now));
    for (const [copy, problem] of bad) {
      const location = (copy === 'primary' ? primary : replica!).store.location;
      if (problem === 'archived') {
        this.o.logger.error({ versionId: version.id, blobId: version.blobId, copy, problem, location }, `scrub found the ${copy} copy of blob ${version.blobId} in ${location} in an archive storage class (a bucket lifecycle rule?): it is rewritten from a good copy if there is one, otherwise restore it from the archive; remove lifecycle rules to cold classes from this bucket`);
      } else {
        this.o.logger.warn({ versionId: version.id, blobId: version.blobId, copy, problem, location }, 'scrub found a bad copy');
      }
    }

    const good: Copy | undefined = states.primary === 'good' ? 'primary' : states.replica === 'good' ? 'replica' : undefined;
    if (bad.length > 0 && !(await this.stillLive(version))) {
      // Destroyed while we read it (its blobs go with it): nothing was lost, nothing to heal.
      report.findings -= bad.length;
      return;
    }
    if (good === undefined) {
      report.unrecoverable++;
      this.o.logger.error({ versionId: version.id, documentId: version.documentId, blobId: version.blobId, states }, 'UNRECOVERABLE: every stored copy of this version is damaged or missing; restore it from a backup');
      await this.o.store.transaction(async (repos) => {
        await repos.audit.insert(findingEvents);
        if (await repos.replicas.markUnrecoverable(version.blobId, version.id, now.toISOString())) await this.tellSecurityAdmins(repos, version, now);
      });
      return;
    }

    const repairs: { copy: Copy; from: Copy }[] = [];
    for (const [copy] of bad) {
      const from = good;
      const side = copy === 'primary' ? primary : replica!;
      const source = from === 'primary' ? primary : replica!;
      try {
        // Checked as it passes, as the replication job copies: a good copy gone bad since it was read is not written over the other.
        await source.blobs.copyTo(versionRef(version, { id: version.documentId, organisationId: version.organisationId }), version.sha256, side.store);
      } catch (error) {
        this.o.logger.error({ err: error, versionId: version.id, copy }, 'scrub could not write the repaired copy; it is tried again at the next scrub');
        continue;
      }
      // Read back what was written: a repair is only reported once it is known good.
      if ((await this.check(side, version, limit)) === 'good') repairs.push({ copy, from });
    }
    report.repairs += repairs.length;
    await this.o.store.transaction(async (repos) => {
      await repos.audit.insert([
        ...findingEvents,
        ...repairs.map(({ copy, from }) => auditEvent(this.o.system, 'storage.scrub.repair', target({ copy, from }), SYSTEM_DECISION, now)),
      ]);
      await repos.replicas.markScrubbed(version.blobId, version.id, now.toISOString());
      await repos.replicas.clearUnrecoverable(version.blobId);
      const replicaGood = states.replica === 'good' || repairs.some((r) => r.copy === 'replica');
      if (replica && replicaGood) await repos.replicas.markReplicated(version.blobId, version.id, now.toISOString());
    });
  }

  /** Reads one copy whole through decryption (every chunk's tag) and compares the plaintext hash. */
  private async check(side: ScrubSide, version: Version, limit: RateLimit): Promise<CopyState> {
    try {
      const plaintext = await side.blobs.openRange(versionRef(version, { id: version.documentId, organisationId: version.organisationId }));
      const hash = createHash('sha256');
      for await (const chunk of plaintext) {
        hash.update(chunk as Buffer);
        await limit.take((chunk as Buffer).length);
      }
      return hash.digest('hex') === version.sha256 ? 'good' : 'damaged';
    } catch (error) {
      if (error instanceof DomainError && error.code === 'NOT_FOUND') return 'missing';
      if (error instanceof DomainError && error.code === 'INTEGRITY') return 'damaged';
      if (error instanceof ArchivedBlobError) return 'archived';
      this.o.logger.warn({ err: error, versionId: version.id }, 'scrub could not read a copy; the version is left for the next scrub');
      return 'unavailable';
    }
  }

  private async stillLive(version: Version): Promise<boolean> {
    const now = await this.o.store.repos.documents.versionById(version.id);
    return now !== undefined && now.wrappedKey.length > 0;
  }

  private async tellSecurityAdmins(repos: Repos, version: Version, now: Date): Promise<void> {
    const admins = (await repos.users.listByOrganisation(version.organisationId)).filter((u) => u.roles.includes('security_admin') && !u.disabled);
    for (const admin of admins) {
      await repos.notifications.insert({
        id: randomUUID(), userId: admin.id, organisationId: version.organisationId, kind: 'storage-damaged', documentId: version.documentId, versionId: version.id,
        message: `Every stored copy of version ${version.number} of a document is damaged or missing, so it cannot be downloaded. The service's operators have been told; it must be restored from a backup.`,
        createdAt: now.toISOString(), readAt: null,
      });
    }
    await this.o.mail?.queue(repos.jobs, now, version.organisationId, admins.map((a) => a.id), { kind: 'storage-damaged', documentId: version.documentId, versionNumber: version.number });
  }
}

/** Keeps the average read rate at or under `bytesPerSecond` since the run started. */
class RateLimit {
  private readonly started = performance.now();
  private bytes = 0;

  constructor(private readonly bytesPerSecond: number, private readonly sleep: ((ms: number) => Promise<void>) | undefined, private readonly report: ScrubReport) {}

  async take(bytes: number): Promise<void> {
    this.bytes += bytes;
    this.report.bytesRead += bytes;
    const wait = this.started + (this.bytes / this.bytesPerSecond) * 1000 - performance.now();
    if (wait > 5) await (this.sleep ?? defaultSleep)(wait);
  }
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
