// The audit checkpoints kept outside the database: one file per signed checkpoint in the offsite
// folder (plus a copy of the newest beside it, so the signer need not list a folder that grows by
// thousands of files a day), and the signer's own copy of the last one it signed beside its key.
// Whoever can only write the database can change none of them, so they are what the signer and
// `audit verify` trust.
import { mkdir, open, readFile, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { SourcedCheckpoint } from '../domain/audit/checkpoint-history.js';

const NOTE_NAME = /^(\d{12})\.note$/;

export class CheckpointCopies {
  constructor(private readonly o: { offsiteDir: string; signerFile: string }) {}

  private get folder(): string {
    return path.join(this.o.offsiteDir, 'audit-checkpoints');
  }

  private get newestFile(): string {
    return path.join(this.o.offsiteDir, 'audit-newest-checkpoint.note');
  }

  /** Durably records a checkpoint the signer is about to publish: the offsite copy, then its own. */
  async remember(treeSize: number, note: string): Promise<void> {
    await mkdir(this.folder, { recursive: true });
    await writeDurably(path.join(this.folder, `${String(treeSize).padStart(12, '0')}.note`), note, 0o644);
    // Another process may have published a larger one meanwhile; the newest copy never goes back.
    const current = await readOptional(this.newestFile);
    if (!current || signedSize(current) < treeSize) await writeDurably(this.newestFile, note, 0o644);
    await mkdir(path.dirname(this.o.signerFile), { recursive: true, mode: 0o700 });
    await writeDurably(this.o.signerFile, note, 0o600);
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
    const note = await readOptional(this.newestFile);
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
    const note = await readFile(path.join(this.folder, name), 'utf8');
    const size = NOTE_NAME.exec(name)?.[1];
    return { source: `offsite checkpoint ${name}`, note, ...(size !== undefined ? { claimedSize: Number(size) } : {}) };
  }

  private async signerCopy(): Promise<SourcedCheckpoint[]> {
    // Absent before the first checkpoint, and on a vault signed before the signer kept a copy.
    const note = await readOptional(this.o.signerFile);
    return note === undefined ? [] : [{ source: `the signer's own copy (keys/${path.basename(this.o.signerFile)})`, note }];
  }
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The size line of a checkpoint note, unverified: only to keep the newest copy from going back. */
function signedSize(note: string): number {
  const size = Number(note.split('\n')[1]);
  return Number.isSafeInteger(size) ? size : -1;
}

async function writeDurably(file: string, content: string, mode: number): Promise<void> {
  const temp = `${file}.tmp`;
  const handle = await open(temp, 'w', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}
