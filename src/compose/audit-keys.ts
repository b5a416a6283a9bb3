// Composition of what the audit log keeps outside the database: the signing key and the signer's copy
// of its last checkpoint (in keys/), and the checkpoint copies (offsite folder, replica bucket). Used by
// main.ts and the backup*.ts files.
import { randomBytes } from 'node:crypto';
import { link, lstat, readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { generateSignerKey } from '../domain/audit/signed-note.js';
import type { CheckpointCopies as CheckpointCopiesPort } from '../domain/ports.js';
import { CheckpointCopies } from '../storage/checkpoint-copies.js';
import { writeNewFileDurably } from '../storage/fs-file-writes.js';
import { makeFolderDurably, syncDirectory } from '../storage/fs-folders.js';

export const auditKeyPath = (dataDir: string): string => path.join(dataDir, 'keys', 'audit-signing.key');
/** The signer's own copy of the last checkpoint it signed: beside its key, out of the database's reach. */
export const auditLastCheckpointPath = (dataDir: string): string => path.join(dataDir, 'keys', 'audit-last-checkpoint.note');

/** The audit signing key lives in keys/, never in the database, so a database rewrite cannot re-sign. */
export async function loadSigningKey(config: Config, create: boolean): Promise<string> {
  const file = auditKeyPath(config.dataDir);
  const existing = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT' || !create) throw new Error(`Cannot read the audit signing key at ${file}.`, { cause: error });
    return undefined;
  });
  if (existing !== undefined) {
    await removeStaleTemporaryKeys(path.dirname(file));
    return existing.trim();
  }
  await makeFolderDurably(path.dirname(file));
  const name = config.auditOrigin.replace(/[^A-Za-z0-9._/-]/g, '-');
  // Written whole and flushed under a name of its own, then linked into place: a crash or a full disk
  // never leaves an empty or partial key under the real name, and link() refuses a name that exists,
  // so of two processes starting at once the first one's key stands and both use it.
  const temporary = path.join(path.dirname(file), `${TEMPORARY_KEY_PREFIX}${randomBytes(8).toString('hex')}${TEMPORARY_KEY_SUFFIX}`);
  try {
    await writeNewFileDurably(temporary, [Buffer.from(`${generateSignerKey(name)}\n`, 'utf8')], 0o600);
    await link(temporary, file).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST') return;
      if (error.code !== 'EPERM' && error.code !== 'ENOTSUP' && error.code !== 'ENOSYS') throw error;
      // No hard links here (some network shares): an exclusive create under the real name instead.
      await writeNewFileDurably(file, [await readFile(temporary)], 0o600).catch((again: NodeJS.ErrnoException) => {
        if (again.code !== 'EEXIST') throw again;
      });
    });
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  await syncDirectory(path.dirname(file));
  return (await readFile(file, 'utf8')).trim();
}

const TEMPORARY_KEY_PREFIX = '.audit-signing.key.';
const TEMPORARY_KEY_SUFFIX = '.tmp';
const TEMPORARY_KEY_PATTERN = /^\.audit-signing\.key\.[0-9a-f]{16}\.tmp$/;
/** Older than this, a temporary key belongs to no process still making one (that takes milliseconds). */
const TEMPORARY_KEY_GRACE_MS = 60_000;

/**
 * Removes temporary keys a process left when it stopped while making the key (between writing one and
 * linking it into place): each holds a private key, never used, that should not lie about. Only our
 * own names, only regular files, and only old ones: another process may be making the key right now.
 */
async function removeStaleTemporaryKeys(folder: string): Promise<void> {
  const names = await readdir(folder).catch(() => [] as string[]);
  for (const name of names) {
    if (!TEMPORARY_KEY_PATTERN.test(name)) continue;
    const temporary = path.join(folder, name);
    const status = await lstat(temporary).catch(() => undefined);
    if (status === undefined || !status.isFile() || Date.now() - status.mtimeMs < TEMPORARY_KEY_GRACE_MS) continue;
    await unlink(temporary).catch(() => undefined);
  }
}

/**
 * Where audit checkpoints are kept outside the database: the offsite folder and the signer's own copy
 * (beside its key in `signerDataDir`), and the replica's bucket too when STRONGROOM_REPLICA is one (the
 * S3 modules are loaded only then).
 */
export async function openCheckpointCopies(config: Config, signerDataDir: string): Promise<{ copies: CheckpointCopiesPort; close: () => void }> {
  const local = new CheckpointCopies({ offsiteDir: config.offsiteDir, signerFile: auditLastCheckpointPath(signerDataDir) });
  if (config.replica?.kind !== 's3') return { copies: local, close: () => undefined };
  const [{ BucketCheckpointCopies }, { createS3Client }] = await Promise.all([import('../storage/bucket-checkpoint-copies.js'), import('../storage/s3.blob-store.js')]);
  const client = createS3Client(config.replica);
  return { copies: new BucketCheckpointCopies({ local, client, bucket: config.replica.bucket, prefix: config.replica.prefix }), close: () => client.destroy() };
}
