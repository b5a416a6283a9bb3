// A file's content as the extractor and the thumbnailer hand it to the programs that read it: opened
// afresh for each program and streamed into its input (a pipe), so the server never holds a version's
// plaintext whole, whatever its size. Each program keeps what it reads in its own memory, under its
// own limits; nothing goes through a temporary file, since plaintext must never reach the disk.
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** What can be read, as many times as needed: a version (decrypted as it is read), or bytes already in memory. */
export interface ContentInput {
  readonly size: number;
  open(): Promise<Readable>;
}

export class InputTooLarge extends Error {}

/** Bytes already in memory (an e-mail's attachment, a logo) as an input. */
export function inMemory(bytes: Uint8Array): ContentInput {
  return { size: bytes.byteLength, open: async () => Readable.from([bytes], { objectMode: false }) };
}

/** Refuses an input over the cap before any of it is read. */
export function refuseOverCap(input: ContentInput, maxBytes: number): void {
  if (input.size > maxBytes) throw new InputTooLarge(`the file is ${input.size} bytes, over the cap of ${maxBytes}`);
}

/** The whole input in memory: only for inputs small enough to hold (plain text read in the server). */
export async function readWhole(input: ContentInput, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of sizeChecked(input, await input.open(), signal)) {
    chunks.push(chunk);
    length += chunk.length;
  }
  return Buffer.concat(chunks, length);
}

/**
 * Streams the input into `destination` (a program's stdin, a parser's input pipe) and ends it. A
 * program may stop reading early (it has what it needs, or it died): that is not this stream's
 * failure, and the program's own exit says what happened. Rejects only with InputTooLarge (the
 * stream ran past the size on record) or the source's own error.
 */
export async function streamInto(input: ContentInput, destination: Writable, signal: AbortSignal): Promise<void> {
  destination.on('error', ignore); // EPIPE when the program stops reading
  const source = await input.open();
  let sourceFailed: unknown = null;
  source.once('error', (error) => (sourceFailed = error));
  try {
    await pipeline(sizeChecked(input, source, signal), destination);
  } catch (error) {
    if (error instanceof InputTooLarge) throw error;
    if (sourceFailed) throw sourceFailed;
  } finally {
    source.destroy();
  }
}

const ignore = (): void => undefined;

/** The source's chunks, refusing any past the size on record (the two should agree). */
async function* sizeChecked(input: ContentInput, source: Readable, signal: AbortSignal): AsyncGenerator<Buffer> {
  let length = 0;
  try {
    for await (const chunk of source) {
      signal.throwIfAborted();
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      length += buffer.length;
      if (length > input.size) throw new InputTooLarge(`the file is longer than the ${input.size} bytes on record`);
      yield buffer;
    }
  } finally {
    source.destroy();
  }
}
