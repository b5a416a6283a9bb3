// What the packages Strongroom hands out as zips share (a disposal batch's transfer package, a subject access
// response): safe entry names, versions decrypted only when the zip reaches them, and one output stream.
import { PassThrough, type Readable } from 'node:stream';
import type yazl from 'yazl';
import type { EncryptedBlobs } from '../domain/ports.js';
import type { Version } from '../domain/types.js';

/** A name safe as one zip path segment: no folders, no control characters, no leading dots. */
export function zipPathSegment(name: string, fallback: string): string {
  const safe = name.replace(/[\u0000-\u001f\u007f/\\]/g, '_').replace(/^\.+/, '_').slice(0, 200);
  return safe.length > 0 ? safe : fallback;
}

/** Adds a version's plaintext at `path`, opened lazily: yazl asks for each stream only when the previous entry is written. */
export function addVersionLazily(zip: yazl.ZipFile, blobs: EncryptedBlobs, version: Version, path: string): void {
  const ref = {
    blobId: version.blobId, organisationId: version.organisationId, documentId: version.documentId, versionId: version.id,
    keyId: version.keyId, wrappedKey: version.wrappedKey, size: version.size,
  };
  zip.addReadStreamLazy(path, { size: version.size }, (cb) => {
    blobs.openRange(ref).then((stream) => cb(null, stream), (err: unknown) => cb(err, undefined as never));
  });
}

/** Ends the zip and hands back its bytes as one stream, failing it with the first error of any entry. */
export function zipOutput(zip: yazl.ZipFile): Readable {
  zip.end();
  const out = new PassThrough();
  (zip.outputStream as Readable).on('error', (err) => out.destroy(err)).pipe(out);
  return out;
}
