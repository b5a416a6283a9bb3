// Ports: the interfaces the domain and services need from the outside world (the database's are in
// repositories.ts). Each has real adapters (filesystem/S3 blobs, clamd, SQLite/PostgreSQL) chosen in main.ts.
import type { Readable } from 'node:stream';
import type { SourcedCheckpoint } from './audit/checkpoint-history.js';
import type { OrganisationLogoType } from './branding/brand.js';
import type { DestructionCertificate } from './records/certificate.js';
import type { ExtractedText } from './search/types.js';

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive (as in HTTP Range). */
  end: number;
}

/**
 * Raw storage of opaque (already encrypted) blobs. `put` is durable when it resolves:
 * written to a temporary object, flushed, then made visible atomically.
 */
export interface BlobStore {
  /** Where the store is, for people: its folder, or s3://bucket/prefix. */
  readonly location: string;
  put(source: Readable | AsyncIterable<Uint8Array>): Promise<{ id: string; size: number }>;
  /**
   * Writes a blob under the id given, atomically replacing any blob already there, as durably as `put`.
   * For the offsite replica and repairs, which keep the primary's blob id; never for new content.
   */
  putAs(id: string, source: Readable | AsyncIterable<Uint8Array>): Promise<{ id: string; size: number }>;
  /** Raw bytes of a blob, optionally a range of them. Throws DomainError NOT_FOUND if absent. */
  get(id: string, range?: ByteRange): Promise<Readable>;
  /**
   * A whole blob in memory, for one its caller knows is small (a local folder reads it with no stream
   * at all). A blob longer than `maxBytes` is an IntegrityError, and is read no further than that.
   */
  readSmall(id: string, maxBytes: number): Promise<Buffer>;
  size(id: string): Promise<number>;
  delete(id: string): Promise<void>;
  list(): AsyncIterable<string>;
  /** Removes staging files left by a crash; returns how many were removed. */
  cleanStaging(olderThanMs: number): Promise<number>;
  /**
   * The text of the store's marker (domain/store-marker.ts: the vault it belongs to), or undefined when
   * it has none. The marker is never a blob: `list` does not name it.
   */
  readMarker(): Promise<string | undefined>;
  /**
   * Writes the marker as durably as `put`, unless the store has one already: then it is left as it is
   * and the answer is false. Two writers at once: one marker stands (where the storage can say so).
   * `overEmpty`: an empty marker there (one a crash left half-made) is replaced; a marker with text never is.
   */
  writeMarker(text: string, overEmpty?: boolean): Promise<boolean>;
}

/**
 * The blob ids the backups kept on the replica's shelf list: a restore of any of them copies those
 * blobs from the replica, under those ids, so the replica's garbage collection keeps them.
 */
export interface BackupBlobReferences {
  /** Of `blobIds`, those some backup on the shelf lists. Throws when a complete backup there cannot be read. */
  among(blobIds: ReadonlySet<string>): Promise<Set<string>>;
}

/** What authenticated data binds a version's blob and data key to. */
export interface BlobBinding {
  organisationId: string;
  documentId: string;
  versionId: string;
  /** Id of the organisation key that wraps the data key. */
  keyId: string;
}

/** The key hierarchy: master key → organisation key → per-version data key. */
export interface KeyRing {
  /** A fresh data key for a version, and that key wrapped under the organisation's current key. */
  newDataKey(organisationId: string, binding: Omit<BlobBinding, 'keyId'>): Promise<{ dataKey: Buffer; wrappedKey: Buffer; keyId: string }>;
  /** Unwraps a version's data key; throws IntegrityError if anything about it was changed. */
  openDataKey(binding: BlobBinding, wrappedKey: Uint8Array): Promise<Buffer>;
}

/** What is recorded about a version's blob, and all that is needed to read it back. */
export interface EncryptedVersionRef {
  blobId: string;
  organisationId: string;
  documentId: string;
  versionId: string;
  keyId: string;
  wrappedKey: Uint8Array;
  /** Plaintext size; a blob of any other size is an IntegrityError. */
  size: number;
}

export interface WrittenBlob {
  blobId: string;
  wrappedKey: Buffer;
  keyId: string;
  encryptedSize: number;
  plainSize: number;
}

/**
 * Document versions' content, encrypted under a fresh data key each (storage/encrypted-blobs.ts
 * over any BlobStore). Services see plaintext streams; keys and the blob format stay behind this port.
 */
export interface EncryptedBlobs {
  /** Encrypts a plaintext stream into a new durable blob; records nothing (an uncommitted blob is an orphan). */
  write(target: Omit<BlobBinding, 'keyId'>, plaintext: Readable | AsyncIterable<Uint8Array>): Promise<WrittenBlob>;
  delete(blobId: string): Promise<void>;
  /** Plaintext of a version, or of a range of it (decrypting only the chunks it covers). */
  openRange(version: EncryptedVersionRef, range?: ByteRange): Promise<Readable>;
  /** A small range of plaintext in memory, e.g. a zip's central directory. */
  readRange(version: EncryptedVersionRef, range: ByteRange): Promise<Buffer>;
  /**
   * What a download sends: the plaintext (or a range of it) as openRange streams it, except that a
   * small version is read, decrypted and verified whole into memory first, so its answer is one
   * buffer and never starts for bytes that fail their check.
   */
  content(version: EncryptedVersionRef, range?: ByteRange): Promise<Buffer | Readable>;
  /**
   * Copies a version's blob as stored (ciphertext: no key leaves) into another store, each chunk
   * authenticated and the plaintext hashed as the bytes pass: the copy completes only when the blob is the
   * version, the plaintext's SHA-256 being `sha256`. Otherwise IntegrityError (NOT_FOUND when the blob is
   * absent), and the target holds nothing new: under the same id it keeps whatever it held. Streams, in
   * bounded memory. Under the same id (`putAs`: the replica, a repair), or with `newId` under the id the
   * target gives it (`put`: a restore into a new primary store). Answers the id and size written.
   */
  copyTo(version: EncryptedVersionRef, sha256: string, target: BlobStore, options?: { newId?: boolean }): Promise<{ id: string; size: number }>;
}

/**
 * The audit checkpoints kept outside the database (offsite folder, the signer's own copy), which
 * the signer and `audit verify` trust because whoever writes only the database cannot change them.
 */
export interface CheckpointCopies {
  /** Durably records a checkpoint the signer is about to publish (never moving the newest copies backwards). */
  remember(treeSize: number, note: string): Promise<void>;
  /** What the signer last signed: the newest offsite copy and its own (either may be absent). */
  latest(): Promise<SourcedCheckpoint[]>;
  /** Every checkpoint held outside the database, for `audit verify`. */
  all(): Promise<{ offsite: SourcedCheckpoint[]; newest: SourcedCheckpoint[]; signer: SourcedCheckpoint[] }>;
}

export type ScanVerdict =
  | { outcome: 'clean'; engine: string }
  | { outcome: 'infected'; signature: string; engine: string }
  /**
   * The scanner could not give a verdict (down, timed out, stream too long): fail closed.
   * `beyondLimits`: the content itself is past what the scanner may judge (a stream over its
   * length limit, an archive unpacking past its scan limits), so asking again will not help.
   */
  | {
    outcome: 'unavailable'; reason: string; beyondLimits?: true;
    /**
     * The scanner met password-protected content it cannot read (clamd's "Heuristics.Encrypted.*",
     * named here): no verdict on that part, whatever was found elsewhere. The file policy decides on
     * it as on encryption it saw itself. Always with `beyondLimits`.
     */
    encrypted?: string;
  };

/** Whose scan this is, so a fair scanner can share its streams out (null: the system's own jobs). */
export interface ScanOwner {
  organisationId: string | null;
  accountId: string | null;
}

/** A malware scanner fed by streaming (clamd INSTREAM). */
export interface Scanner {
  /**
   * Never rejects; never stalls a tee: when the verdict comes before the end of `source` (too
   * large, unavailable, busy), the scanner reads and discards the rest unless `signal` aborts.
   * The verdict is for the bytes as each chunk held them when the scanner read it: a source must
   * not change a chunk after handing it over (the scanner may still be sending it).
   */
  scan(source: Readable | AsyncIterable<Uint8Array>, options?: { signal?: AbortSignal; owner?: ScanOwner }): Promise<ScanVerdict>;
  /** Signature database version, used to trigger rescans when it changes. */
  version(): Promise<string>;
  /** Largest stream the scanner will accept (clamd StreamMaxLength). */
  readonly maxStreamBytes: number;
}

/** Random access to a version's plaintext after it has been written (decrypting only the chunks asked for). */
export type RangeReader = (range: ByteRange) => Promise<Buffer>;

export interface Clock {
  now(): Date;
}

/** Makes and checks password hashes. A hash names its own parameters, so any hash this or an earlier setting made verifies. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a hash that cannot be read, never an error. */
  verify(hash: string, password: string): Promise<boolean>;
  /** Whether a hash was made with other parameters than this hasher's (made again at the next sign-in). */
  needsRehash(hash: string): boolean;
}

export const systemClock: Clock = { now: () => new Date() };

export type FileInspection =
  /** `review`: may be stored, but only quarantined until a security admin releases it. */
  | { allowed: true; mediaType: string; review?: { code: string; reason: string } }
  | { allowed: false; mediaType: string; code: string; reason: string };

/** Decides, from the content itself, whether a file type may be stored (the organisation's file-type policy). */
export interface FileInspector {
  /** `encryptedInside`: the scanner met password-protected content in the file (ScanVerdict's `encrypted`). */
  inspect(input: { organisationId: string; name: string; size: number; head: Buffer; readRange: RangeReader; encryptedInside?: string }): Promise<FileInspection>;
}

/** Renders a certificate of destruction for people to read (a PDF); the signed JSON stays the evidence. */
export interface CertificateRenderer {
  /** A stream of the rendered document; `jsonSha256` is the SHA-256 of the JSON as served, so the paper points at it. */
  pdf(certificate: DestructionCertificate, facts: { jsonSha256: string; verifierKey: string }): Readable;
}

/** A version's plaintext and what is known of it, for text extraction and thumbnails. */
export interface ContentSource {
  /** The detected media type (the file policy's), not the name's. */
  mediaType: string;
  name: string;
  size: number;
  /** A fresh plaintext stream each call (decrypted as it is read; nothing is written to disk). */
  open(): Promise<Readable>;
}

/**
 * Turns a version's content into text, page by page where it has pages, with OCR for pages without a
 * text layer. Hostile files are parsed outside the server's event loop with time and memory limits:
 * a crash, hang or bomb ends `failed` or `partial`, never a rejection that stalls other work.
 * Rejects only when `signal` aborts (the job lost its lease) or the content cannot be read at all.
 */
export interface TextExtractor {
  extract(source: ContentSource, options: { signal: AbortSignal; onProgress?: () => void }): Promise<ExtractedText>;
}

/** Renders a small first-page image (PNG) of a PDF or image, or null for other types or when it cannot. */
export interface Thumbnailer {
  render(source: ContentSource, options: { signal: AbortSignal }): Promise<Buffer | null>;
}

export type LogoOutcome =
  | { ok: true; bytes: Buffer; type: OrganisationLogoType; width: number; height: number }
  /** `problem`: one of LOGO_REFUSALS (domain/branding/brand.ts), for the org admin to read. */
  | { ok: false; problem: string };

/**
 * An organisation's logo as it will be served: the type judged by its content (never its name), PNG or
 * JPEG within the size limits, decoded and re-encoded outside the server's event loop so that no
 * metadata, trailing bytes or hostile chunk of the upload survives. Never rejects for what the file does.
 */
export interface LogoImages {
  normalise(bytes: Buffer, options?: { signal?: AbortSignal }): Promise<LogoOutcome>;
}

/**
 * Per-organisation keys for search, derived from the master key (so whoever holds only the database
 * cannot compute them): one keys the blind index of term hashes, one encrypts the text kept for snippets.
 */
export interface SearchKeys {
  termKey(organisationId: string): Buffer;
  textKey(organisationId: string): Buffer;
}

/** One e-mail, rendered, to one address. */
export interface OutgoingMail {
  to: { name: string; address: string };
  subject: string;
  text: string;
  html: string;
}

/**
 * Sends e-mail: SMTP (integrations/smtp.mailer.ts) when STRONGROOM_SMTP_URL is set, otherwise the
 * server log (integrations/log.mailer.ts). `send` rejects when the message was not accepted, so the
 * send-email job retries it.
 */
export interface Mailer {
  /** True when mail really leaves the building (SMTP); false for the log mailer. */
  readonly delivers: boolean;
  send(mail: OutgoingMail): Promise<void>;
}
