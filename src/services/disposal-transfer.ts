// The transfer package of a disposal batch ("export with metadata, then destroy"): a zip streamed
// entry by entry, each record's current version decrypted only when the zip reaches it, so memory
// does not grow with the size of the records.
import { PassThrough, type Readable } from 'node:stream';
import yazl from 'yazl';
import type { DisposalBatch, DisposalItem } from '../domain/records/disposal.js';
import type { EncryptedBlobs } from '../domain/ports.js';
import type { Repos } from '../domain/repositories.js';

/** Scan verdicts whose bytes may leave the vault. */
const EXPORTABLE = new Set(['clean', 'released']);

/** A name safe as one zip path segment (no folders, no control characters). */
function entryName(name: string): string {
  const safe = name.replace(/[\u0000-\u001f\u007f/\\]/g, '_').replace(/^\.+/, '_').slice(0, 200);
  return safe.length > 0 ? safe : 'document';
}

export async function transferPackage(deps: { repos: Repos; blobs: EncryptedBlobs }, batch: DisposalBatch, items: readonly DisposalItem[]): Promise<Readable> {
  const zip = new yazl.ZipFile();
  for (const item of items) {
    const document = await deps.repos.documents.byId(item.documentId);
    if (!document || document.status === 'disposed') continue;
    const versions = await deps.repos.documents.versions(document.id);
    const current = versions.find((v) => v.id === document.currentVersionId);
    const included = current !== undefined && EXPORTABLE.has(current.scanStatus) && current.wrappedKey.length > 0;
    const folder = document.id;
    const metadata = {
      id: document.id, name: document.name, organisationId: document.organisationId, batchId: batch.id,
      series: { code: item.seriesCode, trigger: item.trigger, triggerDate: item.triggerDate, dueAt: item.dueAt, action: item.action },
      createdAt: document.createdAt, updatedAt: document.updatedAt, deletedAt: document.deletedAt,
      classification: document.classification, serviceArea: document.serviceArea, mediaType: document.mediaType,
      sha256: current?.sha256 ?? null, size: current?.size ?? null,
      content: included ? `${folder}/${entryName(document.name)}` : null,
      ...(included ? {} : { contentOmitted: 'The current version has not been found clean by the malware scan, so its bytes are not exported.' }),
      versions: versions.map((v) => ({ number: v.number, id: v.id, size: v.size, sha256: v.sha256, mediaType: v.mediaType, createdAt: v.createdAt, scanStatus: v.scanStatus })),
      reason: item.reason,
    };
    zip.addBuffer(Buffer.from(`${JSON.stringify(metadata, null, 2)}\n`), `${folder}/metadata.json`);
    if (included) {
      const ref = { blobId: current.blobId, organisationId: current.organisationId, documentId: document.id, versionId: current.id, keyId: current.keyId, wrappedKey: current.wrappedKey, size: current.size };
      // Opened lazily: yazl asks for each stream only when the previous entry is written.
      zip.addReadStreamLazy(`${folder}/${entryName(document.name)}`, { size: current.size }, (cb) => {
        deps.blobs.openRange(ref).then((stream) => cb(null, stream), (err: unknown) => cb(err, undefined as never));
      });
    }
  }
  zip.end();
  const out = new PassThrough();
  (zip.outputStream as Readable).on('error', (err) => out.destroy(err)).pipe(out);
  return out;
}
