// Reads a browser's multipart form one part at a time, streaming each file to a handler. The CSRF
// token must arrive (as a field before the files, or the X-CSRF-Token header) before any file is read.
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { DomainError } from '../../domain/errors.js';
import { csrfRefused, signedIn, type Ui } from './context.js';

export interface FileOutcome<T> {
  name: string;
  ok: boolean;
  value?: T;
  error?: DomainError | Error;
}

/** Calls `onFile` for every non-empty file, in order; an error in one file does not stop the rest. */
export async function eachFile<T>(
  ui: Ui, request: FastifyRequest, onFile: (name: string, body: Readable, fields: Record<string, string>) => Promise<T>,
): Promise<{ fields: Record<string, string>; files: FileOutcome<T>[] }> {
  const web = signedIn(request);
  if (!request.isMultipart()) throw new DomainError('INVALID', 'Choose a file to upload.', { details: { field: 'files' } });
  let trusted = ui.sessions.csrfValid(web.session, request.headers['x-csrf-token']);
  const fields: Record<string, string> = {};
  const files: FileOutcome<T>[] = [];
  for await (const part of request.parts()) {
    if (part.type === 'field') {
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
    try {
      files.push({ name: file.filename, ok: true, value: await onFile(file.filename, file.file, fields) });
    } catch (error) {
      files.push({ name: file.filename, ok: false, error: error as Error });
    }
    // Whatever the handler did, drain the rest of this file so the next part can be read.
    if (!file.file.readableEnded) {
      file.file.resume();
      await finished(file.file).catch(() => undefined);
    }
    if (file.file.truncated) files[files.length - 1] = { name: file.filename, ok: false, error: new DomainError('TOO_LARGE', 'The file is larger than this service accepts.') };
  }
  if (!trusted) throw csrfRefused();
  return { fields, files };
}
