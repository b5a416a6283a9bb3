// A large answer (a WebDAV folder's multistatus, a REST folder listing) sent as its parts are made, so
// the server holds one part, not the whole answer, whatever the folder's size. Shared by the interfaces.
import { Readable } from 'node:stream';

/**
 * Makes the first part before anything is sent, so a refusal or failure there still answers as an
 * error; the rest follow as the body is read. A later part waits for `durable` before it leaves (the
 * first is held by the onSend hook's barrier; a later one may show writes made since). A failure in a
 * later part destroys the stream, and with it the connection: no client takes a cut-off answer for a
 * whole one.
 */
export async function streamedBody(parts: AsyncGenerator<string>, durable: () => Promise<void>): Promise<Readable> {
  const first = await parts.next();
  async function* all(): AsyncGenerator<string> {
    if (first.done) return;
    yield first.value;
    for await (const part of parts) {
      await durable();
      yield part;
    }
  }
  return Readable.from(all());
}
