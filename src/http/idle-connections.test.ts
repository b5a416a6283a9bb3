// The connection idle timeout closes connections whose client owes the next move (an answer left
// unread, silence between requests), never one whose answer the server is still working on.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeIdleConnectionsOf } from './idle-connections.js';

const IDLE_MS = 500;
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((done) => server?.close(done) ?? done(undefined));
  server = undefined;
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
  server = createServer(handler);
  server.setTimeout(IDLE_MS);
  server.keepAliveTimeout = IDLE_MS;
  closeIdleConnectionsOf(server);
  await new Promise<void>((ready) => server!.listen(0, '127.0.0.1', ready));
  return (server.address() as AddressInfo).port;
}

/** Sends one request; `readAfterMs` keeps the client from reading for that long. Resolves with what came back and when the connection closed. */
function request(port: number, readAfterMs = 0): Promise<{ received: number; text: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    let received = 0;
    let text = '';
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      if (readAfterMs > 0) {
        socket.pause();
        setTimeout(() => socket.resume(), readAfterMs);
      }
    });
    socket.on('data', (d: Buffer) => {
      received += d.length;
      if (text.length < 200) text += d.toString('latin1').slice(0, 200);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ received, text, closedAfterMs: Date.now() - started }));
  });
}

describe('closeIdleConnectionsOf', () => {
  it('waits for an answer the server is still working on, however long the silence', async () => {
    const port = await serve((_req, res) => setTimeout(() => res.end('done at last'), IDLE_MS * 4));
    const { text, closedAfterMs } = await request(port);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*done at last$/);
    // Then closed by the server for the silence between requests, not held open: the bound is loose because
    // a loaded machine's event-loop lag delays the idle timer (4,014 ms was seen against 4,000 in a full run
    // beside other work); a connection held open for good would still fail it.
    expect(closedAfterMs).toBeGreaterThanOrEqual(IDLE_MS * 5);
    expect(closedAfterMs).toBeLessThan(IDLE_MS * 20);
  });

  it('closes a connection whose client stopped reading the answer', async () => {
    const size = 128 * 1024 * 1024; // more than the socket buffers take
    const port = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(size) });
      const piece = Buffer.alloc(1024 * 1024, 1);
      let sent = 0;
      const pump = () => {
        while (sent < size) {
          sent += piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const { received } = await request(port, IDLE_MS * 8);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(size);
  });
});
