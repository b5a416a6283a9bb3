// Every body the server waits for has a deadline: a client that stops sending, or trickles, is
// answered 408 and cut off, and the reader sees the body fail, never end; a client the server
// itself is holding up (its reader busy) is not cut off, and a steady body goes through.
import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SlowBodyGuard, type SlowBodyLimits } from './slow-body-guard.js';

const LIMITS: SlowBodyLimits = { idleMs: 1_000, minBytesPerSecond: 200, graceMs: 1_500 };
const TICK_MS = 50;

let server: Server | undefined;
let guard: SlowBodyGuard | undefined;
afterEach(async () => {
  guard?.closeAll();
  server?.closeAllConnections();
  await new Promise((done) => server?.close(done) ?? done(undefined));
  server = undefined;
});

type Outcome = { ended: string } | { failed: string };

/** A server whose handler reads the whole body (after `readAfterMs`) and answers with its length; `outcomes` is what each reader saw. */
async function readingServer(readAfterMs = 0): Promise<{ port: number; outcomes: Outcome[] }> {
  guard = new SlowBodyGuard(LIMITS, TICK_MS);
  const outcomes: Outcome[] = [];
  server = createServer((req, res) => {
    guard!.watch(req, res, 'req-1');
    setTimeout(() => {
      void readAll(req).then(
        (body) => {
          outcomes.push({ ended: body });
          res.end(`got ${body.length}`);
        },
        (error: Error) => outcomes.push({ failed: error.message }),
      );
    }, readAfterMs);
  });
  await new Promise<void>((ready) => server!.listen(0, '127.0.0.1', ready));
  return { port: (server!.address() as AddressInfo).port, outcomes };
}

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('aborted')));
  });
}

/** Sends `head`, then each piece `gapMs` apart; resolves with what came back once the server closed, and when. */
function send(port: number, head: string, pieces: string[], gapMs: number): Promise<{ received: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port }, async () => {
      socket.write(head);
      for (const piece of pieces) {
        await new Promise((done) => setTimeout(done, gapMs));
        if (socket.destroyed) return;
        socket.write(piece);
      }
    });
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ received: Buffer.concat(chunks).toString(), closedAfterMs: Date.now() - started }));
  });
}

const post = (length: number, extra = '') => `POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;

describe('SlowBodyGuard', () => {
  it('answers 408 to a body that stops arriving, closes the connection, and the reader sees it fail rather than end', async () => {
    const { port, outcomes } = await readingServer();
    const { received, closedAfterMs } = await send(port, post(100) + '{"name":', [], 0);
    expect(received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(received).toContain('Content-Type: application/problem+json');
    expect(received).toContain('Connection: close');
    const problem = JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    expect(problem).toEqual({
      type: 'https://strongroom.local/problems/timeout', title: 'Request timeout', status: 408, requestId: 'req-1',
      detail: 'The request stopped: no data arrived for 1 second. Nothing was changed; try again.',
    });
    expect(closedAfterMs).toBeGreaterThanOrEqual(LIMITS.idleMs);
    expect(closedAfterMs).toBeLessThan(LIMITS.idleMs + 1_000);
    await expect.poll(() => outcomes).toHaveLength(1);
    expect(outcomes[0]).toHaveProperty('failed');
    await expect.poll(() => guard!.watching).toBe(0);
  });

  it('cuts off a chunked body that never sends its last chunk, without the reader seeing an end', async () => {
    const { port, outcomes } = await readingServer();
    const body = '{"name":"Payroll"}';
    const { received } = await send(port, 'POST /things HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' + `${body.length.toString(16)}\r\n${body}\r\n`, [], 0);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    await expect.poll(() => outcomes).toHaveLength(1);
    expect(outcomes[0]).toHaveProperty('failed');
  });

  it('answers 408 to a trickle that never goes quiet for long but stays under the slowest rate accepted', async () => {
    const { port, outcomes } = await readingServer();
    // A byte every 100 ms: 10 bytes a second, never idle for long.
    const { received, closedAfterMs } = await send(port, post(1_000), Array.from({ length: 40 }, () => 'x'), 100);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(received).toContain('The request stopped: the data came too slowly (under 200 bytes a second). Nothing was changed; try again.');
    expect(closedAfterMs).toBeGreaterThanOrEqual(LIMITS.graceMs);
    expect(closedAfterMs).toBeLessThan(LIMITS.graceMs + 1_000);
    await expect.poll(() => outcomes).toHaveLength(1);
    expect(outcomes[0]).toHaveProperty('failed');
  });

  it('lets a steady body through, slow pieces and all', async () => {
    const { port, outcomes } = await readingServer();
    const pieces = Array.from({ length: 10 }, () => 'y'.repeat(100)); // 1,000 bytes a second for a second
    const answer = send(port, post(1_000, 'Connection: close\r\n'), pieces, 100);
    const { received } = await answer;
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toContain('got 1000');
    expect(outcomes).toEqual([{ ended: 'y'.repeat(1_000) }]);
    expect(guard!.watching).toBe(0); // let go as the body ends, not at the next tick
  });

  it('does not blame the client while the server itself leaves its body unread', async () => {
    // The reader starts only after two and a half idle limits; meanwhile the client has sent all it can.
    const { port, outcomes } = await readingServer(LIMITS.idleMs * 2.5);
    const size = 4 * 1024 * 1024;
    const { received } = await send(port, post(size, 'Connection: close\r\n'), ['z'.repeat(size)], 0);
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toContain(`got ${size}`);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toHaveProperty('ended');
  });

  it('counts only the body: leading zeros of a chunk size, which carry none of it, buy no time', async () => {
    const { port, outcomes } = await readingServer();
    const zeros = Array.from({ length: 30 }, () => '0'.repeat(100)); // 1,000 bytes a second of "0000…"
    const { received, closedAfterMs } = await send(port, 'POST /things HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', zeros, 100);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(received).toContain('no data arrived for 1 second');
    expect(closedAfterMs).toBeLessThan(LIMITS.idleMs + 1_500);
    await expect.poll(() => outcomes).toHaveLength(1);
    expect(outcomes[0]).toHaveProperty('failed');
  });

  it('does not blame a body pipelined behind a response the client is slow to read, and answers it once its turn comes', async () => {
    guard = new SlowBodyGuard(LIMITS, TICK_MS);
    const big = 16 * 1024 * 1024;
    server = createServer((req, res) => {
      guard!.watch(req, res, 'req-3');
      if (req.url === '/big') {
        res.writeHead(200, { 'content-length': String(big) });
        const piece = Buffer.alloc(64 * 1024, 'b');
        let sent = 0;
        const pump = () => {
          while (sent < big) {
            sent += piece.length;
            if (!res.write(piece)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return;
      }
      void readAll(req).then((body) => res.end(`got ${body.length}`), () => undefined);
    });
    await new Promise<void>((ready) => server!.listen(0, '127.0.0.1', ready));
    const port = (server.address() as AddressInfo).port;
    const answer = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      let length = 0;
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.pause(); // the client reads nothing for two and a half idle limits
        socket.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
        // The POST comes once the answer to the GET has backed up (Node then pauses the connection),
        // and the second half of its body after that: it waits in the kernel until the GET is read.
        setTimeout(() => socket.write(post(100_000, 'Connection: close\r\n') + 'p'.repeat(50_000)), 300);
        setTimeout(() => socket.write('p'.repeat(50_000)), 600);
        setTimeout(() => socket.resume(), LIMITS.idleMs * 2.5);
      });
      socket.on('data', (d: Buffer) => {
        length += d.length;
        // Keep only the end: the second answer follows the 16 MiB of the first.
        chunks.push(d.subarray(Math.max(0, d.length - 512)));
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(`${length} ${Buffer.concat(chunks).toString().slice(-200)}`));
    });
    expect(answer).toMatch(/HTTP\/1\.1 200 OK\r\n[\s\S]*got 100000$/);
    expect(answer).not.toContain('408');
  });

  it('never writes its 408 inside another answer: a stalled body pipelined behind one still being sent cuts the connection', async () => {
    guard = new SlowBodyGuard(LIMITS, TICK_MS);
    server = createServer((req, res) => {
      guard!.watch(req, res, 'req-4');
      if (req.url === '/slow') {
        // 40 bytes over 3.2 s.
        res.writeHead(200, { 'content-length': '40' });
        let sent = 0;
        const timer = setInterval(() => {
          res.write('s'.repeat(10));
          sent += 10;
          if (sent === 40) {
            clearInterval(timer);
            res.end();
          }
        }, 800);
        return;
      }
      void readAll(req).then((body) => res.end(`got ${body.length}`), () => undefined);
    });
    await new Promise<void>((ready) => server!.listen(0, '127.0.0.1', ready));
    const port = (server.address() as AddressInfo).port;
    // The client is still reading the GET's answer, so the POST's body is waited on, and stalls.
    const { received, closedAfterMs } = await send(port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n' + post(100) + '{"', [], 0);
    expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\ns+$/);
    expect(received).not.toContain('408');
    expect(closedAfterMs).toBeLessThan(3_000); // before the GET's answer was done
  });

  it('hands a stall to a reader that took it over, which answers itself: no 408, and the body is not cut off', async () => {
    guard = new SlowBodyGuard(LIMITS, TICK_MS);
    const causes: string[] = [];
    server = createServer((req, res) => {
      guard!.watch(req, res, 'req-5');
      guard!.handOver(req, (cause) => {
        causes.push(cause);
        res.writeHead(200, { connection: 'close', 'content-length': '8' });
        res.end('partial\n');
      });
      req.resume();
    });
    await new Promise<void>((ready) => server!.listen(0, '127.0.0.1', ready));
    const port = (server.address() as AddressInfo).port;
    const { received, closedAfterMs } = await send(port, post(100) + '{', [], 0);
    expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*partial\n$/);
    expect(causes).toEqual(['no data arrived for 1 second']);
    expect(closedAfterMs).toBeGreaterThanOrEqual(LIMITS.idleMs);
  });

  it('cuts off a request whose reader took the stall over and never answered, then and at shutdown', async () => {
    guard = new SlowBodyGuard(LIMITS, TICK_MS);
    const stalls: number[] = [];
    server = createServer((req, res) => {
      guard!.watch(req, res, 'req-6');
      guard!.handOver(req, () => stalls.push(Date.now())); // a reader stuck elsewhere: it never answers
      req.on('error', () => undefined);
      req.resume();
    });
    await new Promise<void>((ready) => server!.listen(0, '127.0.0.1', ready));
    const port = (server.address() as AddressInfo).port;
    const { received, closedAfterMs } = await send(port, post(100) + '{', [], 0);
    expect(stalls).toHaveLength(1);
    expect(received).toBe(''); // no 408: the reader may have acted on what came
    expect(closedAfterMs).toBeGreaterThanOrEqual(LIMITS.idleMs * 2);
    expect(closedAfterMs).toBeLessThan(LIMITS.idleMs * 2 + 1_000);

    // At shutdown it does not wait for the reader either.
    const pending = send(port, post(100) + '{', [], 0);
    await expect.poll(() => stalls.length, { timeout: 3_000 }).toBe(2);
    const started = Date.now();
    guard.closeAll();
    await pending;
    expect(Date.now() - started).toBeLessThan(LIMITS.idleMs / 2);
  });

  it('cuts off every body still awaited at shutdown, rather than waiting for it', async () => {
    const { port, outcomes } = await readingServer();
    const answer = send(port, post(100) + '{"name":', [], 0);
    await expect.poll(() => guard!.watching).toBe(1);
    const started = Date.now();
    guard!.closeAll();
    const { received } = await answer;
    expect(Date.now() - started).toBeLessThan(LIMITS.idleMs / 2);
    expect(received).toBe('');
    await expect.poll(() => outcomes).toHaveLength(1);
    expect(outcomes[0]).toHaveProperty('failed');
  });

  it('leaves alone a request injected in-process, which has no connection to hold (and whose stand-in socket it cannot judge)', () => {
    guard = new SlowBodyGuard(LIMITS, TICK_MS);
    const standIn = { remoteAddress: '127.0.0.1' } as unknown as Socket; // as light-my-request gives Fastify's inject()
    const request = new IncomingMessage(standIn);
    request.headers = { 'content-length': '100' };
    guard.watch(request, new ServerResponse(request), 'req-7');
    expect(guard.watching).toBe(0);
  });

  it('leaves alone a body that has all arrived, and one whose answer is already under way', async () => {
    guard = new SlowBodyGuard(LIMITS, TICK_MS);
    let answered = 0;
    server = createServer((req, res) => {
      guard!.watch(req, res, 'req-2');
      // Answered at once, body unread: what follows is the lingering close's business, not the guard's.
      res.writeHead(413, { connection: 'close', 'content-length': '0' });
      res.flushHeaders();
      answered += 1;
      setTimeout(() => res.end(), LIMITS.idleMs * 2);
    });
    await new Promise<void>((ready) => server!.listen(0, '127.0.0.1', ready));
    const port = (server.address() as AddressInfo).port;
    const { received } = await send(port, post(100) + '{', [], 0);
    expect(answered).toBe(1);
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received).not.toContain('408');
    await expect.poll(() => guard!.watching).toBe(0);
  });
});
