// Keeping the search index in step with documents' lives: the extract-text job (text and thumbnail of a
// version that became readable), renames, purges of destroyed content, and compaction. Subscribed to the
// document lifecycle in compose/lifecycle.ts (`subscribeSearch`), so each job is queued in the transaction that made the change.
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { compactSearchJob, extractTextJob, searchPurgeJob } from '../domain/jobs/kinds.js';
import type { Clock, ContentSource, EncryptedBlobs, TextExtractor, Thumbnailer } from '../domain/ports.js';
import type { JobCompletion, Repos, Store, ThumbnailRef } from '../domain/repositories.js';
import { documentTypeOf } from '../domain/search/document-type.js';
import type { Actor, Document, Version } from '../domain/types.js';
import { documentResource, type AccessService } from './access.service.js';
import type { AuditAlarmService } from './audit-alarm.service.js';
import { auditEvent } from './audit-events.js';
import { target, versionRef } from './document-ingestion.js';
import type { DocumentLifecycle } from './lifecycle.js';

/** The system's own findings are its work, not a person's decision (as a scrub's). */
const SYSTEM_DECISION = { allow: true, reason: 'system', via: null } as const;

/** The integrity alarm's words for a thumbnail row found naming another row's blob. */
const namedElsewhere = (versionId: string, blobId: string, namedBy: 'content' | 'thumbnail', outcome: string): string =>
  `The thumbnail row of version ${versionId} names blob ${blobId}, which is ${namedBy === 'content' ? 'a version\'s content' : 'another version\'s thumbnail'}: `
  + `it was written into the database directly. ${outcome}`;

/** Compaction waits this long after a purge, so a burst of purges (a disposal batch) compacts once. */
const COMPACT_DELAY_MS = 60_000;

/**
 * A thumbnail's blob is bound to its version under a versionId of its own, so it can never be swapped for
 * the version's content (or the content for it): the AAD differs (storage/aad.ts encodes the binding).
 */
export function thumbnailBinding(version: Pick<Version, 'id' | 'organisationId' | 'documentId'>): { organisationId: string; documentId: string; versionId: string } {
  return { organisationId: version.organisationId, documentId: version.documentId, versionId: `${version.id}:thumbnail` };
}

/**
 * Lifecycle subscribers. A new version's old text stays until the new version's extraction replaces it
 * (`replaceDocument`): until then the document matches its previous words, which the same people may
 * still read in its history; removing it at commit would make a document vanish from search for as long
 * as a scan and an extraction take. Deletion to the bin needs no job: the index joins documents'
 * `deleted_at` and status, so a deleted, pending or quarantined document leaves results at once.
 * A rename reaches the index in its own transaction, not by a job: a former name is in no version's
 * history, so a reader is never shown it, and until a queued job ran (as long as the worker's queue
 * took) a search for that name found the document and showed the name as its snippet.
 */
export function subscribeSearch(lifecycle: DocumentLifecycle): void {
  lifecycle
    .on('version.readable', async (event, tx) => void (await tx.jobs.enqueue(extractTextJob, { versionId: event.versionId }, { now: tx.now, organisationId: event.chargedTo, bytes: event.bytes })))
    .on('document.moved', async (event, tx) => void (await tx.search.renameDocument(event.documentId, event.name)))
    .on('document.destroyed', async (event, tx) => {
      await tx.jobs.enqueue(searchPurgeJob, { documentId: event.documentId, versionIds: event.versionIds, disposed: event.disposed }, { now: tx.now, organisationId: event.organisationId });
    });
}

export interface TextIndexingOptions {
  store: Store;
  access: AccessService;
  blobs: EncryptedBlobs;
  extractor: TextExtractor;
  thumbnailer: Thumbnailer;
  clock: Clock;
  logger: Logger;
  /** The job's own actor: extraction reads content as the system, through decide(). */
  system: Actor;
  /** Told of a thumbnail row naming another version's blob: a row written into the database directly. */
  alarm: Pick<AuditAlarmService, 'raiseTamperingAlarm'>;
}

export class TextIndexing {
  constructor(private readonly o: TextIndexingOptions) {}

  /**
   * The extract-text job. Reads the version's plaintext as streams only (decrypted as read; the extractor
   * pipes it to its workers and tools), stores the text in the index and the thumbnail encrypted, and
   * the status on the version, in one transaction with the job's completion when the worker hands one.
   * An outdated job (a newer version is current, or the document is gone) does nothing but mark its
   * version done with that reason.
   */
  async extract(versionId: string, signal: AbortSignal, completion?: JobCompletion): Promise<void> {
    const repos = this.o.store.repos;
    const version = await repos.documents.versionById(versionId);
    if (!version || version.wrappedKey.length === 0) return;
    const document = await repos.documents.byId(version.documentId);
    if (!document || !this.stillCurrent(document, version)) {
      if (document) await repos.documents.setTextState(version.id, { status: 'failed', reason: 'not extracted: a newer version replaced this one' });
      return;
    }
    if (version.scanStatus !== 'clean' && version.scanStatus !== 'released') return;
    const decision = await this.o.access.require(this.o.system, 'document.download', { ...documentResource(document), versionScan: version.scanStatus }, target(document, version.id));
    const source: ContentSource = {
      mediaType: version.mediaType, name: document.name, size: version.size,
      open: () => this.o.blobs.openRange(versionRef(version, document)),
    };
    const extracted = await this.o.extractor.extract(source, { signal });
    signal.throwIfAborted();
    const thumbnail = await this.writeThumbnail(version, source, signal);
    const previous = (await repos.documents.textState(version.id))?.thumbnailBlobId ?? null;

    // Checked again at the end: a version saved, a deletion purged or a rename meanwhile wins.
    const now = this.o.clock.now();
    const applied = await this.o.store.transaction(async (tx) => {
      // Held until the end: a new version or a move committed meanwhile is seen here, and waits otherwise.
      const current = await tx.documents.byIdForChange(document.id);
      if (!current || !this.stillCurrent(current, version)) return false;
      await tx.search.replaceDocument({
        organisationId: current.organisationId, documentId: current.id, versionId: version.id, name: current.name,
        type: documentTypeOf(version.mediaType), sections: extracted.sections,
      });
      await tx.documents.setTextState(version.id, { status: extracted.status, reason: extracted.reason }, thumbnail);
      await tx.audit.insert([auditEvent(this.o.system, 'document.text-extracted', { organisationId: current.organisationId, ids: { documentId: current.id, versionId: version.id, textStatus: extracted.status } }, decision, now)]);
      await completion?.(tx);
      return true;
    });
    if (!applied) {
      if (thumbnail) await this.o.blobs.delete(thumbnail.blobId).catch(() => undefined);
      await repos.documents.setTextState(version.id, { status: 'failed', reason: 'not extracted: a newer version replaced this one' });
      return;
    }
    if (previous !== null && previous !== thumbnail?.blobId) await this.deleteReplacedThumbnail(version, previous).catch(() => undefined);
  }

  /**
   * A thumbnail the database names that its store does not have (deleted outside a restore): forgotten, and
   * the version's extraction queued, which draws it again; until then the document has none (404). Thumbnails
   * are kept in the primary store alone, so there is nothing to heal from and nothing for a scrub to do; a
   * lost picture derived from the document is no finding. Idempotent: only the reader that forgets it queues the job.
   */
  async thumbnailLost(version: Version, blobId: string, error: unknown): Promise<void> {
    this.o.logger.warn({ err: error, versionId: version.id, blobId }, 'a thumbnail is missing from the blob store: forgotten, and drawn again');
    await this.forgetAndDraw(version, blobId);
  }

  /**
   * A thumbnail the database names that failed its check (its key, a chunk's tag or its recorded size): never
   * shown, and, as a scrub treats a version's copy that fails its check, a finding (audited
   * `storage.thumbnail.finding` by the system, logged at error level), then repaired, here by forgetting it and
   * drawing it again (until then the document has none, 404). A blob another row names (a version's content,
   * another version's thumbnail) cannot be damage: nothing Strongroom writes names one blob twice, and each
   * is bound to its own version, which is why it failed. That row was written into the database directly, so
   * the integrity alarm is raised too, as for other rows written by hand; the other blob is never deleted.
   * A blob named by nothing else is damage (a disk's, or a file written in the store): no alarm, the log
   * and the finding say so. Idempotent: only the reader that forgets it records the finding.
   */
  async thumbnailFailedCheck(version: Version, blobId: string, error: unknown): Promise<void> {
    const namedBy = await this.o.store.repos.documents.blobNamedBesides(blobId, version.id);
    const problem = namedBy === null ? 'damaged' : namedBy === 'content' ? 'names-a-version-content' : 'names-another-thumbnail';
    const finding = { organisationId: version.organisationId, ids: { documentId: version.documentId, versionId: version.id, blobId, problem } };
    const forgotten = await this.forgetAndDraw(version, blobId, (tx, now) => tx.audit.insert([auditEvent(this.o.system, 'storage.thumbnail.finding', finding, SYSTEM_DECISION, now)]));
    if (!forgotten) return;
    this.o.logger.error({ err: error, versionId: version.id, blobId, problem }, 'a thumbnail failed its integrity check: not shown, forgotten, and drawn again');
    if (namedBy !== null) this.o.alarm.raiseTamperingAlarm('thumbnail', namedElsewhere(version.id, blobId, namedBy, 'It was not shown; it is forgotten and drawn again.'));
  }

  /**
   * Deletes the blob a version's thumbnail row named, now replaced or destroyed, unless another row names it too
   * (a version's content, another version's thumbnail): only a row written into the database directly does, and
   * deleting the blob it names would destroy that other version's. Kept, and the integrity alarm raised.
   */
  private async deleteReplacedThumbnail(version: Pick<Version, 'id'>, blobId: string): Promise<void> {
    const namedBy = await this.o.store.repos.documents.blobNamedBesides(blobId, version.id);
    if (namedBy === null) return this.o.blobs.delete(blobId);
    this.o.logger.error({ versionId: version.id, blobId, namedBy }, 'a thumbnail row named a blob another row names: the blob is kept');
    this.o.alarm.raiseTamperingAlarm('thumbnail', namedElsewhere(version.id, blobId, namedBy, 'The blob was kept, not deleted with the thumbnail.'));
  }

  /** Forgets the version's thumbnail if it still names `blobId` and queues its extraction, which draws it again; with `alsoWrite` in the same transaction. */
  private async forgetAndDraw(version: Version, blobId: string, alsoWrite?: (tx: Repos, now: Date) => Promise<void>): Promise<boolean> {
    return this.o.store.transaction(async (tx) => {
      if (!(await tx.documents.forgetThumbnail(version.id, blobId))) return false;
      const now = this.o.clock.now();
      await alsoWrite?.(tx, now);
      await tx.jobs.enqueue(extractTextJob, { versionId: version.id }, { now, organisationId: version.organisationId, bytes: version.size });
      return true;
    });
  }

  /**
   * The search-rename job: the name it has now (idempotent). Renames reach the index in their own
   * transaction now (subscribeSearch); this runs jobs queued before. The name is read and written
   * under the document's row lock: read outside it, a rename committing between the two (writing its
   * own name to the index) was overwritten by the name it replaced, which stayed searchable.
   */
  async rename(documentId: string): Promise<void> {
    await this.o.store.transaction(async (tx) => {
      const document = await tx.documents.byIdForChange(documentId);
      if (!document || document.status === 'disposed') return;
      await tx.search.renameDocument(document.id, document.name);
    });
  }

  /**
   * The search-purge job, after content was destroyed: its text and index rows leave, the versions'
   * thumbnail blobs are deleted (their keys went with the versions' keys), and a compaction is queued.
   */
  async purge(payload: { documentId: string; versionIds: string[]; disposed: boolean }): Promise<void> {
    if (payload.disposed) await this.o.store.repos.search.removeDocuments([payload.documentId]);
    if (payload.versionIds.length > 0) await this.o.store.repos.search.removeVersions(payload.versionIds);
    for (const versionId of payload.versionIds) {
      const state = await this.o.store.repos.documents.textState(versionId);
      if (!state?.thumbnailBlobId) continue;
      await this.deleteReplacedThumbnail({ id: versionId }, state.thumbnailBlobId);
      await this.o.store.repos.documents.setTextState(versionId, { status: state.status, reason: state.reason }, null);
    }
    const now = this.o.clock.now();
    await this.o.store.repos.jobs.enqueue(compactSearchJob, {}, { now, runAt: new Date(now.getTime() + COMPACT_DELAY_MS), organisationId: null });
  }

  /** The compact-search job. */
  async compact(): Promise<void> {
    await this.o.store.repos.search.compact();
  }

  private stillCurrent(document: Document, version: Version): boolean {
    return document.currentVersionId === version.id && document.status !== 'disposed';
  }

  private async writeThumbnail(version: Version, source: ContentSource, signal: AbortSignal): Promise<ThumbnailRef | null> {
    let png: Buffer | null;
    try {
      png = await this.o.thumbnailer.render(source, { signal });
    } catch (err) {
      signal.throwIfAborted();
      this.o.logger.warn({ err, versionId: version.id }, 'thumbnail could not be rendered; the document has none');
      return null;
    }
    if (png === null || png.length === 0) return null;
    const written = await this.o.blobs.write(thumbnailBinding(version), Readable.from([png]));
    return { blobId: written.blobId, wrappedKey: written.wrappedKey, keyId: written.keyId, size: png.length };
  }
}
