// Where `strongroom import` puts files: straight into a data directory through the services (as a
// named user), or through a running server's REST API (with an API token). The run (run.ts) is the
// same for both; a target only answers these questions and does these writes.

/** A document already in the destination collection, as the vault knows it: the truth a re-run resumes from. */
export interface ExistingDocument {
  id: string;
  sha256: string;
  /** available | pending_scan | quarantined | … */
  status: string;
}

/** What became of one file sent to the vault. */
export type Sent =
  | { outcome: 'imported'; documentId: string; version: number }
  /** Stored, but quarantined until a security admin reviews it (the file policy could not see inside). */
  | { outcome: 'held'; documentId: string; version: number; reason: string }
  /** Malware (stored encrypted in quarantine, never readable), or refused outright by the file policy or the name rules. */
  | { outcome: 'refused'; documentId: string | null; reason: string };

export interface StoredVersion {
  number: number;
  sha256: string;
  /** pending | clean | infected | held | blocked | released */
  scanStatus: string;
  scanDetail: string | null;
}

export interface SourceFile {
  path: string;
  /**
   * Where the walk found it, every folder resolved (the root the operator named, resolved once, and
   * the names listed below it): opening it must land there (source-file.ts).
   */
  realPath: string;
  /** Its device and inode as the walk saw them, compared where the opened place cannot be asked. */
  identity: { dev: number; ino: number };
  name: string;
  size: number;
  modifiedAt: Date;
}

export interface ImportTarget {
  /** How the report and the summary name the destination. */
  readonly description: string;
  /** The destination collection's id, checked to exist and to be listable; a failure here is fatal. */
  open(collectionId: string): Promise<void>;
  /** A child collection by name (NFC), created when `create` (inheriting its parent's service area and classification); null when absent and not created. */
  childCollection(parentId: string, name: string, create: boolean): Promise<string | null>;
  /** Every document the actor can see in a collection, by name. */
  documents(collectionId: string): Promise<Map<string, ExistingDocument>>;
  /** A document's versions (number, hash, scan verdict): why a quarantined one is quarantined, and whether a changed file was already refused as a new version. */
  versions(documentId: string): Promise<StoredVersion[]>;
  upload(collectionId: string, file: SourceFile): Promise<Sent>;
  uploadVersion(documentId: string, file: SourceFile): Promise<Sent>;
  close(): Promise<void>;
}

/** A refusal the vault gave for this one file (name rules, file policy, a lock…): reported, and the import goes on. */
export class FileRefused extends Error {}

/** Too many uploads at once for the vault's admission limits: wait and send the same file again. */
export class TryAgain extends Error {
  constructor(message: string, readonly afterMs: number) {
    super(message);
  }
}

/**
 * The import cannot go on (the server is unreachable, the token was refused): stop, and say that a re-run resumes.
 * `databaseUnavailable`: it stopped because the database refused for a moment (busy with another process, or
 * PostgreSQL restarting; over --server, a 503 with Retry-After), so it exits 75 (EX_TEMPFAIL) as other commands do.
 */
export class ImportFatal extends Error {
  constructor(message: string, readonly databaseUnavailable = false) {
    super(message);
  }
}
