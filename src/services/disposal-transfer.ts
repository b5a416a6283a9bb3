// The transfer package of a disposal batch ("export with metadata, then destroy"): a zip streamed
// entry by entry, each record's current version decrypted only when the zip reaches it, so memory
// does not grow with the size of the records. What the package holds of each record is fingerprinted
// when it is downloaded, so approval and execution can refuse to destroy a record that changed since
// (a new version, a rename, new details) or whose content the package left out.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import yazl from 'yazl';
import type { DisposalBatch, DisposalItem, TransferExport } from '../domain/records/disposal.js';
import type { EncryptedBlobs } from '../domain/ports.js';
import type { Repos } from '../domain/repositories.js';
import type { Document, Version } from '../domain/types.js';
import { addVersionLazily, zipOutput, zipPathSegment } from './zip-package.js';

/** Settings key of what the batch's last transfer package held (a TransferExport, as JSON): state that must survive a restart. */
export const transferKey = (batchId: string): string => `disposal.transfer-exported:${batchId}`;

/** Scan verdicts whose bytes may leave the vault. */
const EXPORTABLE = new Set(['clean', 'released']);

/**
 * Where a record's bytes go in its folder: under content/, never beside metadata.json, so a record whose
 * uploader named it "metadata.json" (in any case) cannot be a second entry of that name, standing in for
 * what the package says of it once unzipped.
 */
const contentPath = (document: Document): string => `${document.id}/content/${zipPathSegment(document.name, 'document')}`;

/** One record as the package holds it: its metadata.json, and its current version when its bytes are exported. */
export interface TransferEntry {
  document: Document;
  metadata: Record<string, unknown>;
  /** Null: the current version's bytes are left out (not found clean by the malware scan). */
  content: Version | null;
  /** SHA-256 of the metadata: everything the package says about the record. */
  fingerprint: string;
}

/** What the package holds of one item, read from `repos` (a transaction's, for the checks made as it commits); null when the record is gone. */
export async function transferEntry(repos: Repos, batch: DisposalBatch, item: DisposalItem): Promise<TransferEntry | null> {
  const document = await repos.documents.byId(item.documentId);
  if (!document || document.status === 'disposed') return null;
  const versions = await repos.documents.versions(document.id);
  const current = versions.find((v) => v.id === document.currentVersionId);
  const included = current !== undefined && EXPORTABLE.has(current.scanStatus) && current.wrappedKey.length > 0;
  const metadata = {
    id: document.id, name: document.name, organisationId: document.organisationId, batchId: batch.id,
    series: { code: item.seriesCode, trigger: item.trigger, triggerDate: item.triggerDate, dueAt: item.dueAt, action: item.action },
    createdAt: document.createdAt, updatedAt: document.updatedAt, deletedAt: document.deletedAt,
    classification: document.classification, serviceArea: document.serviceArea, mediaType: document.mediaType,
    sha256: current?.sha256 ?? null, size: current?.size ?? null,
    content: included ? contentPath(document) : null,
    ...(included ? {} : { contentOmitted: 'The current version has not been found clean by the malware scan, so its bytes are not exported.' }),
    versions: versions.map((v) => ({ number: v.number, id: v.id, size: v.size, sha256: v.sha256, mediaType: v.mediaType, createdAt: v.createdAt, scanStatus: v.scanStatus })),
    reason: item.reason,
  };
  const fingerprint = createHash('sha256').update(JSON.stringify(metadata), 'utf8').digest('hex');
  return { document, metadata, content: included ? current : null, fingerprint };
}

/** Every transfer item's entry, in the batch's order (records already gone are left out). */
export async function transferEntries(repos: Repos, batch: DisposalBatch, items: readonly DisposalItem[]): Promise<TransferEntry[]> {
  const entries: TransferEntry[] = [];
  for (const item of items) {
    const entry = await transferEntry(repos, batch, item);
    if (entry) entries.push(entry);
  }
  return entries;
}

/** The record of a download kept with the batch: what the package held of each record. */
export function transferExport(entries: readonly TransferEntry[], exportedAt: string): TransferExport {
  return {
    exportedAt,
    records: Object.fromEntries(entries.map((e) => [e.document.id, { fingerprint: e.fingerprint, contentOmitted: e.content === null }])),
  };
}

/** The zip of these entries, streamed: exactly what was fingerprinted (the bytes are those of the version the metadata names). */
export function transferPackage(blobs: EncryptedBlobs, entries: readonly TransferEntry[]): Readable {
  const zip = new yazl.ZipFile();
  for (const { document, metadata, content } of entries) {
    zip.addBuffer(Buffer.from(`${JSON.stringify(metadata, null, 2)}\n`), `${document.id}/metadata.json`);
    if (content) addVersionLazily(zip, blobs, content, contentPath(document));
  }
  return zipOutput(zip);
}
