// Blob files in a folder store, whatever its layout (blobs/ab/<id> or blobs/ab/cd/<id>): files named
// as blob ids, so the store's own layout record and stray files are not counted as blobs.
import { readdir } from 'node:fs/promises';

const BLOB_ID = /^[0-9a-f]{32}$/;

/** How many blobs the folder holds (0 when it does not exist). */
export async function blobFilesUnder(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && BLOB_ID.test(e.name)).length;
}
