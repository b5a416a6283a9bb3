// One `strongroom import` run: walk the sources, mirror their folders as sub-collections, and settle
// every file against what the vault already holds, N files at a time.
//
// Resuming needs no journal: the vault is the truth. A file whose name is already a document in
// its collection, with the same SHA-256 as the current version, is skipped; with a different hash
// it becomes a new version of that document (the source changed since the last run), never a
// second document. A document is committed in one transaction with its first version, so a run
// killed at any moment leaves each file either fully in (the re-run skips it) or not at all (the
// re-run sends it): each file exactly once.
import { createHash } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import type { Progress, Tally } from './progress.js';
import type { Outcome, ReportWriter } from './report.js';
import { openSourceStream } from './source-file.js';
import { FileRefused, TryAgain, type ExistingDocument, type ImportTarget, type Sent, type SourceFile } from './target.js';
import { walkSources, type FileEntry } from './walk.js';

export interface RunOptions {
  sources: string[];
  collectionId: string;
  jobs: number;
  dryRun: boolean;
  report: ReportWriter | null;
  progress: Progress;
  tally: Tally;
  /**
   * How long a file refused for the vault's upload limits (429) keeps being sent again before it is
   * reported failed. After a crash the dead run's upload slots lapse within a minute (their lease),
   * so the default outlasts that.
   */
  retryForMs?: number;
}

interface Folder {
  /** null: not there yet (a dry run does not create it). */
  collectionId: string | null;
  /** Set when the folder could not be made a collection: every file under it is refused with this. */
  refusal: string | null;
  documents: Map<string, ExistingDocument> | null;
}

/** Imports the sources into `o.collectionId`, which the caller has checked with target.open(). */
export async function runImport(target: ImportTarget, o: RunOptions): Promise<void> {
  const folders = new Map<string, Folder>([['', { collectionId: o.collectionId, refusal: null, documents: null }]]);
  const running = new Set<Promise<void>>();
  let fatal: unknown = null;

  const settle = (path: string, outcome: Outcome, documentId: string | null, version: number | null, detail: string) => {
    if (outcome === 'imported' || outcome === 'would import' || outcome === 'would add version') o.tally.imported += 1;
    else o.tally[outcome] += 1;
    o.report?.add({ path, outcome, documentId, version, detail });
    if (outcome === 'refused' || outcome === 'failed') o.progress.say(`✗ ${path}: ${detail}`);
    if (outcome === 'held') o.progress.say(`! ${path}: held in quarantine for a security admin's review (${detail})`);
  };

  for await (const entry of walkSources(o.sources)) {
    if (fatal) break;
    if (entry.kind === 'problem') {
      settle(entry.source, entry.outcome, null, null, entry.reason);
    } else if (entry.kind === 'folder') {
      const parent = folders.get(key(entry.folders.slice(0, -1)))!;
      folders.set(key(entry.folders), await folderFor(target, parent, entry.folders[entry.folders.length - 1]!, o.dryRun));
    } else {
      const folder = folders.get(key(entry.folders))!;
      if (folder.refusal) {
        settle(entry.source, 'refused', null, null, folder.refusal);
        continue;
      }
      // Listed once per folder, before its first file is handed out, so no two jobs list it.
      if (!folder.documents) folder.documents = folder.collectionId ? await target.documents(folder.collectionId) : new Map();
      while (running.size >= o.jobs) await Promise.race(running);
      if (fatal) break;
      const job = settleFile(target, folder, entry, o).then(
        ({ outcome, documentId, version, detail }) => settle(entry.source, outcome, documentId, version, detail),
        (error: unknown) => {
          fatal ??= error;
        },
      ).finally(() => running.delete(job));
      running.add(job);
    }
  }
  await Promise.all(running);
  if (fatal) throw fatal;
}

const key = (folders: string[]): string => folders.join('\u0000');

async function folderFor(target: ImportTarget, parent: Folder, name: string, dryRun: boolean): Promise<Folder> {
  if (parent.refusal) return { collectionId: null, refusal: parent.refusal, documents: null };
  if (parent.collectionId === null) return { collectionId: null, refusal: null, documents: new Map() };
  try {
    return { collectionId: await target.childCollection(parent.collectionId, name, !dryRun), refusal: null, documents: null };
  } catch (error) {
    if (error instanceof FileRefused) return { collectionId: null, refusal: `its folder "${name}" cannot be a collection: ${error.message}`, documents: null };
    throw error;
  }
}

interface Settled { outcome: Outcome; documentId: string | null; version: number | null; detail: string }

async function settleFile(target: ImportTarget, folder: Folder, entry: FileEntry, o: RunOptions): Promise<Settled> {
  // Looked at again as it is sent: the walk may be minutes old on a live share.
  const info = await lstat(entry.source).catch((error: NodeJS.ErrnoException) => error);
  if (info instanceof Error) return { outcome: 'failed', documentId: null, version: null, detail: `unreadable: ${info.code ?? info.message}` };
  if (!info.isFile()) return { outcome: 'refused', documentId: null, version: null, detail: 'no longer a regular file (replaced by a link or a folder)' };
  const file: SourceFile = { path: entry.source, realPath: entry.realPath, identity: entry.identity, name: entry.name, size: info.size, modifiedAt: info.mtime };
  // Vault names are NFC (names.ts); a share written from a Mac may hold NFD names.
  const existing = folder.documents!.get(entry.name.normalize('NFC'));
  try {
    if (!existing) {
      if (o.dryRun) return { outcome: 'would import', documentId: null, version: null, detail: '' };
      return await sendCounted(o, file, () => target.upload(folder.collectionId!, file));
    }
    const sha256 = await hashFile(file, o.tally);
    if (sha256 === existing.sha256) return await alreadyThere(target, existing);
    // The source changed since it was imported. A version refused before (malware) is not sent again on every run.
    const versions = await target.versions(existing.id);
    const refusedBefore = versions.find((v) => v.sha256 === sha256 && (v.scanStatus === 'infected' || v.scanStatus === 'blocked'));
    if (refusedBefore) {
      return { outcome: 'refused', documentId: existing.id, version: refusedBefore.number, detail: `already refused as version ${refusedBefore.number}: ${refusedBefore.scanDetail ?? refusedBefore.scanStatus}` };
    }
    if (o.dryRun) return { outcome: 'would add version', documentId: existing.id, version: null, detail: 'content differs from the current version' };
    return await sendCounted(o, file, () => target.uploadVersion(existing.id, file), 'new version: the file changed since it was imported', false);
  } catch (error) {
    if (error instanceof FileRefused) return { outcome: 'refused', documentId: existing?.id ?? null, version: null, detail: error.message };
    if (error instanceof TryAgain) return { outcome: 'failed', documentId: null, version: null, detail: `${error.message} (still refused after ${Math.round((o.retryForMs ?? RETRY_FOR_MS) / 1000)} s of retries)` };
    if (error instanceof Error && 'code' in error && typeof (error as NodeJS.ErrnoException).syscall === 'string') {
      return { outcome: 'failed', documentId: null, version: null, detail: `unreadable: ${(error as NodeJS.ErrnoException).code}` };
    }
    throw error;
  }
}

/** The same hash as the current version: skipped, unless the vault keeps it quarantined, which the report must still say. */
async function alreadyThere(target: ImportTarget, existing: ExistingDocument): Promise<Settled> {
  if (existing.status !== 'quarantined') return { outcome: 'skipped', documentId: existing.id, version: null, detail: 'already imported (same name and SHA-256)' };
  const versions = await target.versions(existing.id);
  const current = versions.filter((v) => v.sha256 === existing.sha256).at(-1);
  if (current?.scanStatus === 'held') return { outcome: 'held', documentId: existing.id, version: current.number, detail: current.scanDetail ?? 'held for review' };
  return { outcome: 'refused', documentId: existing.id, version: current?.number ?? null, detail: `already in the vault, quarantined: ${current?.scanDetail ?? 'refused'}` };
}

async function sendCounted(o: RunOptions, file: SourceFile, send: () => Promise<Sent>, note = '', countBytes = true): Promise<Settled> {
  const sent = await withRetries(send, o.retryForMs ?? RETRY_FOR_MS);
  // A changed file was hashed first: its bytes are counted once, there.
  if (countBytes) o.tally.bytes += file.size;
  switch (sent.outcome) {
    case 'imported':
      return { outcome: 'imported', documentId: sent.documentId, version: sent.version, detail: note };
    case 'held':
      return { outcome: 'held', documentId: sent.documentId, version: sent.version, detail: sent.reason };
    case 'refused':
      return { outcome: 'refused', documentId: sent.documentId, version: null, detail: sent.reason };
  }
}

const RETRY_FOR_MS = 150_000;

async function withRetries<T>(send: () => Promise<T>, forMs: number): Promise<T> {
  const giveUpAt = Date.now() + forMs;
  for (;;) {
    try {
      return await send();
    } catch (error) {
      if (!(error instanceof TryAgain) || Date.now() >= giveUpAt) throw error;
      // Jittered, so N jobs refused together do not all come back together.
      await new Promise((resolve) => setTimeout(resolve, Math.min(error.afterMs, 5000) * (0.25 + Math.random() * 0.5)));
    }
  }
}

async function hashFile(file: SourceFile, tally: Tally): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await openSourceStream(file)) {
    hash.update(chunk as Buffer);
    tally.bytes += (chunk as Buffer).length;
  }
  return hash.digest('hex');
}
