// Multipart file parts as upload bodies that refuse rather than trim. At its size limit busboy
// stops a file and ends the stream as if it were complete (setting `truncated`); stored, that
// would be a prefix acknowledged as the whole file.
import type { MultipartFile } from '@fastify/multipart';
import { DomainError } from '../domain/errors.js';
import { tooLarge } from '../services/ingest.js';

/**
 * The busboy limit for one file: a byte over the service's limit, so the upload pipeline counts
 * the excess itself and refuses, naming the limit, before the stream even ends.
 */
export const multipartFileLimit = (maxUploadBytes: number): number => maxUploadBytes + 1;

/**
 * The file's bytes, failing with TOO_LARGE at the end if busboy cut the file short. If the reader
 * stops early (a refusal), the rest of the part is drained rather than destroyed, so busboy can
 * go on to the next part of the form.
 */
export async function* wholeFile(file: MultipartFile, maxUploadBytes: number): AsyncGenerator<Uint8Array> {
  try {
    try {
      for await (const chunk of file.file.iterator({ destroyOnReturn: false })) yield chunk as Uint8Array;
    } catch (error) {
      // The body stalled (the form's reader failed the file, saying so): that reason stands.
      if (error instanceof DomainError) throw error;
      // The form broke off inside the file (client gone, or no closing boundary): a partial file, refused.
      throw new DomainError('INVALID', 'The form ended before the file was complete, so nothing was stored. Send it again.', { cause: error });
    }
    if (file.file.truncated) throw tooLarge(maxUploadBytes);
  } finally {
    if (!file.file.readableEnded) file.file.resume();
  }
}

/**
 * What reading a form's next part failed with, as the person should hear it. Busboy reports a body
 * that is not the multipart form its Content-Type announces (no boundary in it, a malformed part
 * header, an end before the closing boundary) as a plain Error, which would otherwise be answered as an
 * internal error; it is the sender's mistake, and nothing of the form was stored. Errors that already
 * say what they are (ours, or @fastify/multipart's with a 4xx status, such as its limits) stand.
 */
export function formReadFailure(error: unknown): unknown {
  if (error instanceof DomainError) return error;
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return error;
  return new DomainError('INVALID', 'The request body is not the multipart/form-data form its Content-Type says it is, so nothing was stored. Send the file again (or send its bytes as the raw body, with another Content-Type).', { cause: error });
}

