// Where a backup's files go and how each is sealed. A backup is a folder (or an S3 prefix) of
// parts, each encrypted with the blob format (AES-256-GCM in 64 KiB chunks, storage/blob-format.ts)
// under a random per-backup key, and a signed manifest. The per-backup key is wrapped under a key
// derived from the master key, which itself is never written: whoever holds the backup but not
// the master key can read nothing of it.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { parseBlobsSetting } from '../config/storage-settings.js';
import type { BackupPart } from '../domain/backup/manifest.js';
import type { BlobBinding } from '../domain/ports.js';
import { createDecryptStream, createEncryptStream } from './blob-crypto-streams.js';
import { writeNewFileDurably } from './fs-file-writes.js';
import { makeFolderDurably } from './fs-folders.js';
import { deriveKey, unwrapKey, wrapKey, type MasterKey } from './keys.js';
import { createS3Client } from './s3.blob-store.js';

export const MANIFEST_FILE = 'manifest.note';
const KEY_AAD = 'strongroom/backup-key/v1';

/** A place to keep a backup's files: a local folder or an S3 prefix. */
export interface BackupLocation {
  readonly description: string;
  /** Stores a file from a stream (durably when it resolves). */
  write(name: string, source: Readable): Promise<void>;
  read(name: string): Promise<Readable>;
  /** A small file whole; one larger than `maxBytes` is refused, not read into memory. */
  readText(name: string, maxBytes: number): Promise<string>;
  writeText(name: string, text: string): Promise<void>;
  /** Names of the files already there (to refuse writing over another backup). */
  names(): Promise<string[]>;
  close(): void;
}

export function openBackupLocation(where: string): BackupLocation {
  if (/^s3:\/\//i.test(where)) return s3Location(where);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(where)) throw new Error(`${where}: a backup goes to a folder or to s3://bucket/prefix.`);
  return folderLocation(path.resolve(where));
}

function folderLocation(dir: string): BackupLocation {
  return {
    description: dir,
    async write(name, source) {
      await makeFolderDurably(dir);
      await writeNewFileDurably(path.join(dir, name), source, 0o600);
    },
    async read(name) {
      await stat(path.join(dir, name)).catch((cause: unknown) => {
        throw new Error(`${path.join(dir, name)} is missing: ${dir} is not a complete backup.`, { cause });
      });
      return createReadStream(path.join(dir, name));
    },
    async readText(name, maxBytes) {
      let source: Readable;
      try {
        await stat(path.join(dir, name));
        source = createReadStream(path.join(dir, name));
      } catch (cause) {
        throw new Error(`No backup in ${dir} (cannot read ${name}).`, { cause });
      }
      return readBounded(source, maxBytes, `${path.join(dir, name)}`);
    },
    async writeText(name, text) {
      await makeFolderDurably(dir);
      await writeNewFileDurably(path.join(dir, name), [Buffer.from(text, 'utf8')], 0o644);
    },
    async names() {
      return readdir(dir).catch(() => []);
    },
    close: () => undefined,
  };
}

function s3Location(where: string): BackupLocation {
  const { setting, problems } = parseBlobsSetting(where);
  if (setting.kind !== 's3' || problems.length > 0) throw new Error(`${where}: ${problems.join('; ')}`);
  const client = createS3Client(setting);
  const key = (name: string) => `${setting.prefix}${name}`;
  const get = async (name: string): Promise<Readable> => {
    const answer = await client.send(new GetObjectCommand({ Bucket: setting.bucket, Key: key(name) })).catch((cause: unknown) => {
      throw new Error(`Cannot read ${name} from ${where}.`, { cause });
    });
    return answer.Body as Readable;
  };
  return {
    description: where,
    async write(name, source) {
      await new Upload({ client, params: { Bucket: setting.bucket, Key: key(name), Body: source }, queueSize: 2, partSize: 8 * 1024 * 1024 }).done();
    },
    read: get,
    async readText(name, maxBytes) {
      return readBounded(await get(name), maxBytes, `${where}${where.endsWith('/') ? '' : '/'}${name}`);
    },
    async writeText(name, text) {
      await client.send(new PutObjectCommand({ Bucket: setting.bucket, Key: key(name), Body: text }));
    },
    async names() {
      const answer = await client.send(new ListObjectsV2Command({ Bucket: setting.bucket, Prefix: setting.prefix, MaxKeys: 1000 }));
      return (answer.Contents ?? []).map((o) => (o.Key ?? '').slice(setting.prefix.length));
    },
    close: () => client.destroy(),
  };
}

/** A stream read whole as UTF-8, refused (and destroyed) once it passes `maxBytes`. */
async function readBounded(source: Readable, maxBytes: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      source.destroy();
      throw new Error(`${what} is larger than ${maxBytes} bytes: it is not a file a Strongroom backup writes.`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A backup's own random key, and that key wrapped for the manifest. */
export function newBackupKey(master: MasterKey, backupId: string): { key: Buffer; wrapped: string } {
  const key = randomBytes(32);
  return { key, wrapped: wrapKey(deriveKey(master, 'backup-key-wrap'), key, Buffer.from(`${KEY_AAD}|${backupId}`)).toString('base64') };
}

/** Opens a backup's key; a different master key (or an edited manifest) is an IntegrityError. */
export function openBackupKey(master: MasterKey, backupId: string, wrapped: string): Buffer {
  return unwrapKey(deriveKey(master, 'backup-key-wrap'), Buffer.from(wrapped, 'base64'), Buffer.from(`${KEY_AAD}|${backupId}`));
}

/** Each part is bound to its backup and its name, so parts cannot be swapped between backups or names. */
function partBinding(backupId: string, name: string): BlobBinding {
  return { organisationId: 'strongroom-backup', documentId: backupId, versionId: name, keyId: 'backup-key-v1' };
}

/** Counts and hashes the bytes passing through (the stored, encrypted bytes). */
class Measure extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    done(null, chunk);
  }
}

/**
 * A writable part: what is written is encrypted and stored as it goes (bounded memory); `done()`
 * ends it and answers its name, hash and size for the manifest.
 */
export interface PartWriter {
  input: Writable;
  /** Writes a chunk, waiting while the store is behind. */
  write(chunk: string | Buffer): Promise<void>;
  done(): Promise<BackupPart>;
}

export function writePart(location: BackupLocation, backupId: string, key: Buffer, name: string): PartWriter {
  const input = new PassThrough();
  const measure = new Measure();
  const stored = location.write(name, input.pipe(createEncryptStream(key, partBinding(backupId, name))).pipe(measure));
  // Awaited in done(). A store that fails (a full or failing disk) also ends the input, so a writer
  // waiting for 'drain', or a pipeline into `input`, is answered instead of waiting for ever. No error
  // is passed to destroy(): nobody may be listening for one, and the failure itself comes from done().
  let failure: unknown;
  stored.catch((error: unknown) => {
    failure = error;
    input.destroy();
  });
  const stopped = (): unknown => failure ?? new Error(`The backup part ${name} could not be stored.`);
  return {
    input,
    async write(chunk) {
      if (input.destroyed) throw stopped();
      if (!input.write(chunk)) await new Promise<void>((resolve, reject) => {
        const settle = (error?: unknown): void => {
          input.off('drain', onDrain);
          input.off('error', onError);
          input.off('close', onClose);
          if (error) reject(error);
          else resolve();
        };
        const onDrain = (): void => settle();
        const onError = (error: Error): void => settle(error);
        const onClose = (): void => settle(stopped());
        input.once('drain', onDrain);
        input.once('error', onError);
        input.once('close', onClose);
      });
    },
    async done() {
      input.end();
      await stored;
      return { name, sha256: measure.hash.digest('hex'), size: measure.size };
    },
  };
}

/** Reads a part back: its stored bytes are hashed against the manifest as they are decrypted. */
export async function readPart(location: BackupLocation, backupId: string, key: Buffer, part: BackupPart): Promise<Readable> {
  const measure = new Measure();
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      done(null, chunk);
    },
    flush(done) {
      const sha = measure.hash.digest('hex');
      if (sha !== part.sha256 || measure.size !== part.size) done(new Error(`The backup part ${part.name} does not match its manifest (SHA-256 ${sha}, expected ${part.sha256}): the backup was changed or damaged.`));
      else done();
    },
  });
  const source = await location.read(part.name);
  const hashed = source.pipe(measure).pipe(check);
  source.on('error', (e) => hashed.destroy(e));
  const plain = hashed.pipe(createDecryptStream(key, partBinding(backupId, part.name)));
  hashed.on('error', (e) => plain.destroy(e));
  return plain;
}

/** Checks a stored part's hash and size against the manifest without decrypting it. */
export async function checkPart(location: BackupLocation, part: BackupPart): Promise<void> {
  const measure = new Measure();
  await pipeline(await location.read(part.name), measure, new Writable({ write: (_c, _e, next) => next() }));
  const sha = measure.hash.digest('hex');
  if (sha !== part.sha256 || measure.size !== part.size) throw new Error(`The backup part ${part.name} does not match its manifest (SHA-256 ${sha}, expected ${part.sha256}): the backup was changed or damaged.`);
}

/** Reads a whole part as text (small parts: keys, the blob list of a small vault). */
export async function readPartText(location: BackupLocation, backupId: string, key: Buffer, part: BackupPart): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await readPart(location, backupId, key, part)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Lines of a part, one at a time (bounded memory). */
export async function* partLines(location: BackupLocation, backupId: string, key: Buffer, part: BackupPart): AsyncIterable<string> {
  let rest = '';
  const decoder = new StringDecoder('utf8');
  for await (const chunk of await readPart(location, backupId, key, part)) {
    rest += decoder.write(chunk as Buffer);
    let at: number;
    while ((at = rest.indexOf('\n')) >= 0) {
      yield rest.slice(0, at);
      rest = rest.slice(at + 1);
    }
  }
  if (rest !== '') yield rest;
}

