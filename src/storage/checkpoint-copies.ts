// The audit checkpoints kept outside the database: one file per signed checkpoint in the offsite
// folder (plus a copy of the newest beside it, so the signer need not list a folder that grows by
// thousands of files a day), and the signer's own copy of the last one it signed beside its key.
// Whoever can only write the database can change none of them, so they are what the signer and
// `audit verify` trust.
import { randomBytes } from 'node:crypto';
import { open, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { SourcedCheckpoint } from '../domain/audit/checkpoint-history.js';
import type { CheckpointCopies as CheckpointCopiesPort } from '../domain/ports.js';
import { withFileLock } from './file-lock.js';
import { makeFolderDurably, readSmallTextFile, syncDirectory } from './fs-folders.js';

const NOTE_NAME = /^(\d{12})\.note$/;

export class CheckpointCopies implements CheckpointCopiesPort {
  constructor(private readonly o: { offsiteDir: string; signerFile: string }) {}

  private get folder(): string {
    return path.join(this.o.offsiteDir, 'audit-checkpoints');
  }

  private get newestFile(): string {
    return path.join(this.o.offsiteDir, 'audit-newest-checkpoint.note');
  }

  /**
   * Durably records a checkpoint the signer is about to publish: the offsite copy, then the newest
   * copy and its own. Signers in other processes write the same two files, so each is compared and
   * replaced under a lock: otherwise one signing 120 could overwrite one that just wrote 130, and
   * a database rewritten between 120 and 130 would then be signed. Each copy's lock is in its own
   * folder: whoever can write the offsite folder can break the lock there (and write the copies
   * there anyway), but not the one beside the signer's key, so its own copy never goes back.
   */
  async remember(treeSize: number, note: string): Promise<void> {
    await makeFolderDurably(this.folder, 0o755);
    await replaceFile(path.join(this.folder, `${String(treeSize).padStart(12, '0')}.note`), note, 0o644);
    await syncDirectory(this.folder);
    await makeFolderDurably(path.dirname(this.o.signerFile), 0o700);
    // Never backwards: another process may have published a larger one meanwhile.
    await withFileLock(path.join(this.o.offsiteDir, 'audit-newest-checkpoint.lock'), { waitMs: LOCK_WAIT_MS }, async () => {
      const newest = await readNote(this.newestFile);
      if (!newest || signedSize(newest) < treeSize) await replaceFile(this.newestFile, note, 0o644);
    });
    await withFileLock(`${this.o.signerFile}.lock`, { waitMs: LOCK_WAIT_MS }, async () => {
      const own = await readNote(this.o.signerFile);
      if (!own || signedSize(own) < treeSize) await replaceFile(this.o.signerFile, note, 0o600);
    });
    // The renames are made durable after the locks are let go, before this resolves, so a slow disk
    // keeps the other signers waiting no longer than it must. Both folders are flushed even when this process
    // replaced nothing: what it found there, and let decide, may be another signer's rename that
    // signer has not flushed yet, and the database row that follows must not be ahead of it.
    await syncDirectory(this.o.offsiteDir);
    await syncDirectory(path.dirname(this.o.signerFile));
  }

  /** What the signer last signed: the newest offsite file and its own copy (either may be absent); offsite first, so a failure names the copy operators and auditors can see. */
  async latest(): Promise<SourcedCheckpoint[]> {
    return [...(await this.newestOffsite()), ...(await this.signerCopy())];
  }

  /** Every checkpoint held outside the database, for `audit verify`. */
  async all(): Promise<{ offsite: SourcedCheckpoint[]; newest: SourcedCheckpoint[]; signer: SourcedCheckpoint[] }> {
    const offsite = await Promise.all((await this.offsiteNames()).map((n) => this.offsite(n)));
    return { offsite, newest: await this.newestCopy(), signer: await this.signerCopy() };
  }

  private async newestCopy(): Promise<SourcedCheckpoint[]> {
    const note = await readNote(this.newestFile);
    const name = `${String(signedSize(note ?? '')).padStart(12, '0')}.note`;
    return note === undefined ? [] : [{ source: `offsite checkpoint ${name} (as copied to ${path.basename(this.newestFile)})`, note }];
  }

  private async newestOffsite(): Promise<SourcedCheckpoint[]> {
    const newest = await this.newestCopy();
    if (newest.length > 0) return newest;
    // Folders written before the newest copy was kept.
    const name = (await this.offsiteNames()).filter((n) => NOTE_NAME.test(n)).at(-1);
    return name ? [await this.offsite(name)] : [];
  }

  private async offsiteNames(): Promise<string[]> {
    try {
      return (await readdir(this.folder)).filter((n) => n.endsWith('.note')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  private async offsite(name: string): Promise<SourcedCheckpoint> {
    const note = await readNote(path.join(this.folder, name));
    if (note === undefined) throw new Error(`The offsite checkpoint ${name} disappeared while it was read.`);
    const size = NOTE_NAME.exec(name)?.[1];
    return { source: `offsite checkpoint ${name}`, note, ...(size !== undefined ? { claimedSize: Number(size) } : {}) };
  }

  private async signerCopy(): Promise<SourcedCheckpoint[]> {
    // Absent before the first checkpoint, and on a vault signed before the signer kept a copy.
    const note = await readNote(this.o.signerFile);
    return note === undefined ? [] : [{ source: `the signer's own copy (keys/${path.basename(this.o.signerFile)})`, note }];
  }
}

/** A checkpoint note is a few hundred bytes; anything far larger is not one. */
const NOTE_MAX_BYTES = 64 * 1024;

/** Whoever can write the offsite folder could put a FIFO where a note should be: it is refused, not waited on. */
async function readNote(file: string): Promise<string | undefined> {
  return readSmallTextFile(file, NOTE_MAX_BYTES);
}

/** The size line of a checkpoint note, unverified: only to keep the newest copy from going back. */
function signedSize(note: string): number {
  const size = Number(note.split('\n')[1]);
  return Number.isSafeInteger(size) ? size : -1;
}

/** How long a signer waits for another to finish comparing and replacing the copies (a few renames and flushes). */
const LOCK_WAIT_MS = 60_000;

/** Writes the file under a temporary name, flushes it and renames it into place; the caller flushes the folder. */
async function replaceFile(file: string, content: string, mode: number): Promise<void> {
  // A name of its own: signers in other processes write the same files at the same moment.
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'w', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}
