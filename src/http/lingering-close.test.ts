// A body refused part-way is answered, and the client still sending reads the answer instead of a
// reset; nothing after the body is parsed, and the connection closes on the client's FIN, a quiet spell or the cap.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LingeringConnections, type LingerLimits } from './lingering-close.js';

const LIMITS: LingerLimits = { quietMs: 300, totalMs: 1_500 };
const REFUSAL = 'over the limit\n';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((done) => server?.close(done) ?? done(undefined));
  server = undefined;
});

/** A server that refuses every body with 413 at its first chunk, as an upload over the limit is; `closed` is when it closed its first connection. */
async function refusingServer(reader: 'data' | 'iterator' = 'data'): Promise<{ port: number; closed: Promise<number>; lingering: LingeringConnections; served: string[] }> {
  let closedAt: (at: number) => void = () => undefined;
  const closed = new Promise<number>((done) => (closedAt = done));
  const lingering = new LingeringConnections(LIMITS);
  const served: string[] = [];
  server = createServer((req, res) => {
    served.push(`${req.method} ${req.url}`);
    // As buildApp's onRequest hook: a request behind a refused body is not served.
    if (lingering.has(req.socket)) return;
    const firstChunk = reader === 'data' ? new Promise((got) => req.once('data', got)) : req[Symbol.asyncIterator]().next();
    // An iterator left unfinished, as an upload refused mid-stream leaves one: it keeps the body paused.
    void firstChunk.then(() => {
      lingering.lingerAfterResponse(req);
      res.writeHead(413, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(REFUSAL), connection: 'close' });
      res.end(REFUSAL);
    });
  });
  server.once('connection', (socket: Socket) => socket.once('close', () => closedAt(Date.now())));
  await new Promise<void>((ready) => server!.listen(0, '127.0.0.1', ready));
  return { port: (server!.address() as AddressInfo).port, closed, lingering, served };
}

interface Client {
  socket: Socket;
  received: () => string;
  errors: Error[];
}

/** A client streaming a body as curl or a WebDAV client does: it goes on sending after the server's FIN until it is done. */
function client(port: number, head: string): Promise<Client> {
  return new Promise((ready) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => {
      socket.write(head);
      ready({ socket, received: () => Buffer.concat(chunks).toString(), errors });
    });
    const chunks: Buffer[] = [];
    const errors: Error[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (e) => errors.push(e));
  });
}

const CHUNKED = 'PUT /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
const chunk = (bytes: number) => `${bytes.toString(16)}\r\n${'A'.repeat(bytes)}\r\n`;
const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function keepSending(c: Client, forMs: number): Promise<void> {
  const until = Date.now() + forMs;
  while (Date.now() < until && !c.socket.destroyed) {
    c.socket.write(chunk(16 * 1024));
    await pause(10);
  }
}

describe('lingerAfterResponse', () => {
  it('lets a client that keeps sending after the refusal read it whole, with no reset', async () => {
    const { port, closed } = await refusingServer();
    const c = await client(port, CHUNKED);
    await keepSending(c, 600);
    expect(c.errors).toEqual([]);
    expect(c.received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(c.received().endsWith(REFUSAL)).toBe(true);
    c.socket.end();
    await closed;
  });

  it('closes as soon as the client closes its side', async () => {
    const { port, closed } = await refusingServer();
    const c = await client(port, CHUNKED);
    await keepSending(c, 100);
    const ended = Date.now();
    c.socket.end();
    expect((await closed) - ended).toBeLessThan(LIMITS.quietMs);
    expect(c.received()).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('goes on reading a body whose reader stopped mid-way, so the client is never reset', async () => {
    const { port, closed } = await refusingServer('iterator');
    const c = await client(port, CHUNKED);
    await keepSending(c, LIMITS.quietMs * 3);
    expect(c.errors).toEqual([]);
    expect(c.received()).toMatch(/^HTTP\/1\.1 413 /);
    c.socket.end();
    await closed;
  });

  it('reads but no longer parses what follows the refused body, and closes on the client\'s FIN', async () => {
    const { port, closed, served } = await refusingServer();
    const c = await client(port, CHUNKED);
    await keepSending(c, 100);
    c.socket.write('0\r\n\r\n');
    await pause(100);
    // Sent after the body: a request the server must never act on, then more bytes.
    c.socket.write('DELETE /everything HTTP/1.1\r\nHost: x\r\n\r\n');
    await keepSending(c, 200);
    const ended = Date.now();
    c.socket.end();
    expect((await closed) - ended).toBeLessThan(LIMITS.quietMs);
    expect(c.errors).toEqual([]);
    expect(served).toEqual(['PUT /upload']);
    expect(c.received().match(/HTTP\/1\.1 /g)).toHaveLength(1);
  });

  it('hands a request pipelined in the same packet as the body\'s end to the server marked as lingering', async () => {
    const { port, closed, served } = await refusingServer();
    const c = await client(port, 'PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nAB');
    await pause(100);
    c.socket.write('CDDELETE /everything HTTP/1.1\r\nHost: x\r\n\r\n');
    await pause(100);
    c.socket.end();
    await closed;
    // Parsed in the same pass as the body's end, so the server saw it; the guard kept it from being served.
    expect(served).toEqual(['PUT /upload', 'DELETE /everything']);
    expect(c.received().match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(c.errors).toEqual([]);
  });

  it('closes every lingering connection at once on shutdown', async () => {
    const { port, closed, lingering } = await refusingServer();
    const c = await client(port, CHUNKED);
    await keepSending(c, 100);
    const shutdown = Date.now();
    lingering.closeAll();
    expect((await closed) - shutdown).toBeLessThan(100);
    expect(c.received()).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('closes a client that stops sending but never closes, after the quiet spell', async () => {
    const { port, closed } = await refusingServer();
    const c = await client(port, CHUNKED + chunk(1024));
    const quietFrom = Date.now();
    const closedAfter = (await closed) - quietFrom;
    expect(closedAfter).toBeGreaterThanOrEqual(LIMITS.quietMs - 100);
    expect(closedAfter).toBeLessThan(LIMITS.totalMs);
    expect(c.received()).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('closes a client that never stops sending, at the cap', async () => {
    const { port, closed } = await refusingServer();
    const c = await client(port, CHUNKED);
    const started = Date.now();
    void keepSending(c, LIMITS.totalMs + 1_000);
    const closedAfter = (await closed) - started;
    expect(closedAfter).toBeGreaterThanOrEqual(LIMITS.totalMs - 100);
    expect(closedAfter).toBeLessThan(LIMITS.totalMs + 1_000);
    expect(c.received()).toMatch(/^HTTP\/1\.1 413 /);
  });
});
