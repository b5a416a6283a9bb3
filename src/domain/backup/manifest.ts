// What a backup holds and what a restore drill found: the shapes signed into their notes.

/** One stored file of a backup, encrypted; its hash is of the bytes as stored. */
export interface BackupPart {
  name: string;
  sha256: string;
  size: number;
}

export interface BackupManifest {
  format: 'strongroom-backup/1';
  id: string;
  createdAt: string;
  dialect: 'sqlite' | 'postgres';
  /** Applied schema migrations, in order: a restore needs code that knows each of them. */
  migrations: string[];
  /** Row count of every table at the snapshot. */
  tables: Record<string, number>;
  audit: { origin: string; treeSize: number; checkpoint: string | null };
  /** The audit public key the manifest is signed with. */
  auditKey: string;
  /** This backup's random key, wrapped under a key derived from the master key (base64). */
  wrappedKey: string;
  parts: BackupPart[];
  /** How many version blobs the database references (listed in the `blobs` part), and how many of those are shredded. */
  blobs: { referenced: number; shredded: number };
}

/** One version the database references: what restore copies and the drill reads. */
export interface BlobEntry {
  versionId: string;
  documentId: string;
  organisationId: string;
  blobId: string;
  keyId: string;
  size: number;
  sha256: string;
  /** True when the version's key was destroyed (disposal): its blob is gone on purpose. */
  shredded: boolean;
  /** True for the document's current version. */
  current: boolean;
}

export type DrillDocumentResult =
  | { documentId: string; versionId: string; result: 'ok'; bytes: number }
  | { documentId: string; versionId: string; result: 'shredded' }
  | { documentId: string; versionId: string; result: 'missing' | 'corrupt'; problem: string };

export interface DrillReport {
  format: 'strongroom-restore-drill/1';
  when: string;
  backup: { id: string; createdAt: string; dialect: string };
  sampleSize: number;
  documents: DrillDocumentResult[];
  audit: { ok: boolean; treeSize: number; checkpointsChecked: number; newerOffsiteCheckpoints: number; problem?: string };
  totals: { ok: number; shredded: number; missing: number; corrupt: number };
  passed: boolean;
}
