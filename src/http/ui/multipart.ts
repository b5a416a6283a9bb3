// Reads a browser's multipart form one part at a time, streaming each file to a handler. The CSRF
// token must arrive (as a field before the files, or the X-CSRF-Token header) before any file is read.
// A form acts piece by piece (each file is stored as it comes), so a body that stalls must not be
// answered "nothing was changed": it takes the stall over from the guard on every body
// (slow-body-guard.ts, which measures it) and answers with the results so far, saying which files
// were stored. A file whose own upload times out (ingest.ts) ends the form the same way. A file refused
// because the session ended while it arrived ends the form as unauthenticated (the sign-in page).
import type { Multipart, MultipartFile } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { finished } from 'node:stream/promises';
import { DomainError } from '../../domain/errors.js';
import { formReadFailure, multipartFileLimit, wholeFile } from '../multipart-file.js';
import { csrfRefused, signedIn, type Ui } from './context.js';

export interface FileOutcome<T> {
  name: string;
  ok: boolean;
  value?: T;
  error?: DomainError | Error;
}

/** How much of a form the web interface reads: plenty for its own forms, refused (never trimmed) beyond. */
export const FORM_LIMITS = { files: 50, fields: 10, fieldSize: 4096 } as const;

/** Options for registering @fastify/multipart for the web forms. */
export function formMultipartOptions(maxUploadBytes: number) {
  // Busboy's own size error is off: each file's upload refuses an oversized file itself (see multipart-file.ts).
  return { throwFileSizeLimit: false, limits: { ...FORM_LIMITS, fileSize: multipartFileLimit(maxUploadBytes) } };
}

/**
 * Calls `onFile` for every non-empty file, in order; an error in one file does not stop the rest.
 * A file over the size limit is refused (the handler's upload fails); a field over its limit
 * refuses the form; files past the most a form may carry are reported as not uploaded.
 */
export async function eachFile<T>(
  ui: Ui, request: FastifyRequest, onFile: (name: string, body: AsyncIterable<Uint8Array>, fields: Record<string, string>) => Promise<T>,
): Promise<{ fields: Record<string, string>; files: FileOutcome<T>[] }> {
  const web = signedIn(request);
  if (!request.isMultipart()) throw new DomainError('INVALID', 'Choose a file to upload.', { details: { field: 'files' } });
  let trusted = ui.sessions.csrfValid(web.session, request.headers['x-csrf-token']);
  const fields: Record<string, string> = {};
  const files: FileOutcome<T>[] = [];
  const maxUploadBytes = ui.vault.config.maxUploadBytes;
  let stallCause: string | null = null;
  let reading: MultipartFile | null = null;
  const stall = new Promise<typeof STALLED>((resolve) => request.server.slowBodies.handOver(request.raw, (cause) => {
    stallCause = cause;
    // A file being read fails now, whatever its handler is, so the form can answer at once; a
    // handler past reading (storing what it has) finishes, and the answer says what it decided.
    reading?.file.destroy(new DomainError('TIMEOUT', `The upload stopped: ${cause}. Nothing was stored; try again.`));
    resolve(STALLED);
  }));
  const restNotStored = () => ({ name: 'The rest of the form', ok: false, error: new DomainError('TIMEOUT', `The upload stopped: ${stallCause}. The files not listed as uploaded were not stored; upload them again.`) });
  const parts = request.parts()[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await unlessStalled(parts.next(), stall);
      if (next === STALLED) {
        if (!trusted || files.length === 0) throw new DomainError('TIMEOUT', `The upload stopped: ${stallCause}. Nothing was stored; try again.`);
        files.push(restNotStored());
        break;
      }
      if (next.done) break;
      const part: Multipart = next.value;
      if (part.type === 'field') {
        if (part.fieldnameTruncated || part.valueTruncated) {
          throw new DomainError('TOO_LARGE', `A form field is longer than the ${FORM_LIMITS.fieldSize} characters this service accepts. Nothing more from this form was used.`);
        }
        const value = typeof part.value === 'string' ? part.value : String(part.value);
        fields[part.fieldname] = value;
        if (part.fieldname === '_csrf' && ui.sessions.csrfValid(web.session, value)) trusted = true;
        continue;
      }
      const file = part as MultipartFile;
      if (!trusted) {
        file.file.resume();
        throw csrfRefused();
      }
      if (!file.filename) {
        file.file.resume();
        continue;
      }
      // Not raced against a stall: a stall fails the file's stream (above), and the answer must say
      // what the handler decided.
      try {
        reading = file;
        files.push({ name: file.filename, ok: true, value: await onFile(file.filename, wholeFile(file, maxUploadBytes), fields) });
      } catch (error) {
        // Signed out, or switched off, while the file arrived (IdentityService.actorNow): the session no
        // longer signs anyone in, so the form is answered as any request without one, and no more is read.
        if (error instanceof DomainError && error.code === 'UNAUTHENTICATED') throw error;
        files.push({ name: file.filename, ok: false, error: error as Error });
        // The body stopped inside this file: nothing more will come to read.
        if (error instanceof DomainError && error.code === 'TIMEOUT') break;
      } finally {
        reading = null;
      }
      if (stallCause) {
        files.push(restNotStored());
        break;
      }
      // Whatever the handler did, drain the rest of this file so the next part can be read.
      if (!file.file.readableEnded) {
        file.file.resume();
        if ((await unlessStalled(finished(file.file).catch(() => undefined), stall)) === STALLED) {
          files.push(restNotStored());
          break;
        }
      }
    }
  } catch (error) {
    // Busboy stops at the file limit; the files before it were uploaded whole, so report both.
    if ((error as { code?: string }).code !== 'FST_FILES_LIMIT' || !trusted) throw formReadFailure(error);
    files.push({ name: `Files after the first ${FORM_LIMITS.files}`, ok: false, error: new DomainError('TOO_LARGE', `At most ${FORM_LIMITS.files} files can be uploaded at once; the files after the first ${FORM_LIMITS.files} were not uploaded.`) });
  }
  if (!trusted) throw csrfRefused();
  return { fields, files };
}

const STALLED = Symbol('stalled');

/**
 * The promise's value, or STALLED if the body stalls first. A stalled read is abandoned, not
 * cancelled: the response is sent, and the connection closed, without waiting for it.
 */
function unlessStalled<T>(promise: Promise<T>, stall: Promise<typeof STALLED>): Promise<T | typeof STALLED> {
  promise.catch(() => undefined); // abandoned when the body stalls: its later failure (the connection closing) is no one's to hear
  return Promise.race([promise, stall]);
}
