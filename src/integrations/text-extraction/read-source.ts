// Reads a version's decrypted content into memory, refusing more than a cap. Memory, not a temporary
// file: the plaintext must never reach the disk, and the parsers and pdftocairo read it again per page.
import type { ContentSource } from '../../domain/ports.js';

export class InputTooLarge extends Error {}

export async function readSource(source: ContentSource, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  if (source.size > maxBytes) throw new InputTooLarge(`the file is ${source.size} bytes, over the cap of ${maxBytes}`);
  const stream = await source.open();
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      signal.throwIfAborted();
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      length += buffer.length;
      // The size on record and the stream should agree; a stream that runs on is refused all the same.
      if (length > maxBytes) throw new InputTooLarge(`the file is over the cap of ${maxBytes} bytes`);
      chunks.push(buffer);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks, length);
}
