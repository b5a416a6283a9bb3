// ClamdScanner against fake clamd servers: reply parsing, framing, and failing closed on
// refusals, silence, hang-ups and backpressure — the cases a real clamd rarely shows on demand.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClamdScanner, parseReply, SCAN_LIMITS_EXCEEDED, SCAN_TOO_LARGE } from './clamd.scanner.js';

let dir: string;
let servers: Server[] = [];
let sockets: Socket[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sr-fake-'));
});
afterEach(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  servers = [];
  sockets = [];
  await rm(dir, { recursive: true, force: true });
});

/** A fake clamd on a Unix socket; `onConnection` decides how badly it behaves. */
async function fakeClamd(onConnection: (socket: Socket) => void): Promise<string> {
  const socketPath = path.join(dir, 'fake.sock');
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return socketPath;
}

/** Decodes an INSTREAM conversation: the command, then length-prefixed chunks until a zero length. */
function instreamParser(onDone: (payload: Buffer, chunkSizes: number[]) => void): (data: Buffer) => void {
  let buffer = Buffer.alloc(0);
  let commandSeen = false;
  const chunks: Buffer[] = [];
  const sizes: number[] = [];
  return (data) => {
    buffer = Buffer.concat([buffer, data]);
    if (!commandSeen) {
      const nul = buffer.indexOf(0);
      if (nul < 0) return;
      expect(buffer.subarray(0, nul).toString()).toBe('zINSTREAM');
      buffer = buffer.subarray(nul + 1);
      commandSeen = true;
    }
    while (buffer.length >= 4) {
      const length = buffer.readUInt32BE(0);
      if (length === 0) {
        onDone(Buffer.concat(chunks), sizes);
        buffer = buffer.subarray(4);
        return;
      }
      if (buffer.length < 4 + length) return;
      chunks.push(buffer.subarray(4, 4 + length));
      sizes.push(length);
      buffer = buffer.subarray(4 + length);
    }
  };
}

function answerVersion(socket: Socket, data: Buffer): boolean {
  if (data.toString().startsWith('zVERSION\0')) {
    socket.end('ClamAV 9.9.9/1/Fake\0');
    return true;
  }
  return false;
}

describe('parseReply', () => {
  it('maps clamd answers to verdicts, failing closed on anything unexpected', () => {
    expect(parseReply('stream: OK')).toMatchObject({ outcome: 'clean' });
    expect(parseReply('stream: Win.Test.EICAR_HDB-1 FOUND')).toMatchObject({ outcome: 'infected', signature: 'Win.Test.EICAR_HDB-1' });
    expect(parseReply('INSTREAM size limit exceeded. ERROR')).toEqual({ outcome: 'unavailable', reason: SCAN_TOO_LARGE, beyondLimits: true });
    expect(parseReply('stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND')).toEqual({
      outcome: 'unavailable',
      reason: `${SCAN_LIMITS_EXCEEDED} (Heuristics.Limits.Exceeded.MaxFileSize)`,
      beyondLimits: true,
    });
    // A passing failure is not "beyond limits": the scan job asks again.
    expect(parseReply("stream: Can't allocate memory ERROR")).toEqual({ outcome: 'unavailable', reason: "clamd error: stream: Can't allocate memory" });
    expect(parseReply('')).toMatchObject({ outcome: 'unavailable' });
    expect(parseReply('PONG')).toMatchObject({ outcome: 'unavailable' });
  });
});

describe('ClamdScanner with a fake clamd', () => {
  it('frames the stream as length-prefixed chunks, splitting large chunks, and reads the verdict', async () => {
    let received: Buffer | undefined;
    let sizes: number[] = [];
    const socketPath = await fakeClamd((socket) => {
      const parse = instreamParser((payload, chunkSizes) => {
        received = payload;
        sizes = chunkSizes;
        socket.end('stream: OK\0');
      });
      socket.on('data', (data: Buffer) => answerVersion(socket, data) || parse(data));
    });
    const scanner = new ClamdScanner({ socketPath, chunkBytes: 1000 });
    const input = Buffer.from('a'.repeat(2500) + 'b'.repeat(10));
    const verdict = await scanner.scan(Readable.from([input.subarray(0, 2500), input.subarray(2500)]));
    expect(verdict).toEqual({ outcome: 'clean', engine: 'ClamAV 9.9.9/1/Fake' });
    expect(received).toEqual(input);
    expect(sizes).toEqual([1000, 1000, 500, 10]);
  });

  it('accepts async iterables of Uint8Array, not only streams', async () => {
    const socketPath = await fakeClamd((socket) => {
      const parse = instreamParser(() => socket.end('stream: Fake.Sig FOUND\0'));
      socket.on('data', (data: Buffer) => answerVersion(socket, data) || parse(data));
    });
    async function* source(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array([1, 2, 3]);
      yield new Uint8Array(new ArrayBuffer(16), 4, 4);
    }
    expect(await new ClamdScanner({ socketPath }).scan(source())).toMatchObject({ outcome: 'infected', signature: 'Fake.Sig' });
  });

  it('is unavailable at once when nothing listens on the socket', async () => {
    const scanner = new ClamdScanner({ socketPath: path.join(dir, 'nobody-here.sock') });
    const started = Date.now();
    const verdict = await scanner.scan(Readable.from([Buffer.from('hello')]));
    expect(verdict).toMatchObject({ outcome: 'unavailable', reason: expect.stringContaining('clamd unreachable') });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await scanner.ping()).toBe(false);
    await expect(scanner.version()).rejects.toThrow();
  });

  it('is unavailable when a TCP clamd refuses the connection', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve)); // now nothing listens on that port
    const verdict = await new ClamdScanner({ host: '127.0.0.1', port }).scan(Readable.from([Buffer.from('x')]));
    expect(verdict).toMatchObject({ outcome: 'unavailable' });
  });

  it('times out waiting for a verdict that never comes', async () => {
    const socketPath = await fakeClamd((socket) => socket.on('data', () => {})); // reads, never answers
    const started = Date.now();
    const verdict = await new ClamdScanner({ socketPath, replyTimeoutMs: 300 }).scan(Readable.from([Buffer.from('x')]));
    expect(verdict).toMatchObject({ outcome: 'unavailable', reason: expect.stringContaining('timed out') });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('times out when clamd stops reading (backpressure that never clears)', async () => {
    const socketPath = await fakeClamd((socket) => socket.pause()); // accepts, never reads
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    const verdict = await new ClamdScanner({ socketPath, idleTimeoutMs: 300 }).scan(Readable.from([big, big, big]));
    expect(verdict).toMatchObject({ outcome: 'unavailable', reason: expect.stringContaining('timed out') });
  });

  it('is unavailable, not clean, when clamd hangs up mid-stream, and the source is drained', async () => {
    const socketPath = await fakeClamd((socket) => socket.once('data', () => socket.destroy()));
    let produced = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 200; i++) {
        produced++;
        yield Buffer.alloc(64 * 1024, 1);
      }
    }
    const verdict = await new ClamdScanner({ socketPath }).scan(endless());
    expect(verdict.outcome).toBe('unavailable');
    await expect.poll(() => produced, { timeout: 5000 }).toBe(200);
  });

  it('reports a source that fails as unavailable instead of rejecting', async () => {
    const socketPath = await fakeClamd((socket) => socket.on('data', () => {}));
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('start');
      throw new Error('upload connection reset');
    }
    const verdict = await new ClamdScanner({ socketPath }).scan(failing());
    expect(verdict).toEqual({ outcome: 'unavailable', reason: 'source stream failed: upload connection reset' });
  });

  it('stops when aborted', async () => {
    const socketPath = await fakeClamd((socket) => socket.on('data', () => {}));
    const controller = new AbortController();
    const source = new Readable({ read() {} }); // never ends by itself
    source.push(Buffer.from('some bytes'));
    setTimeout(() => controller.abort(), 100);
    const verdict = await new ClamdScanner({ socketPath }).scan(source, { signal: controller.signal });
    expect(verdict).toEqual({ outcome: 'unavailable', reason: 'aborted' });
    expect(await new ClamdScanner({ socketPath }).scan(Readable.from([Buffer.from('x')]), { signal: AbortSignal.abort() })).toEqual({
      outcome: 'unavailable',
      reason: 'aborted',
    });
  });

  it('refuses streams over maxStreamBytes itself, before clamd has to', async () => {
    let bytesAtServer = 0;
    const socketPath = await fakeClamd((socket) => socket.on('data', (d: Buffer) => (bytesAtServer += d.length)));
    const scanner = new ClamdScanner({ socketPath, maxStreamBytes: 100_000 });
    const verdict = await scanner.scan(Readable.from([Buffer.alloc(60_000), Buffer.alloc(60_000), Buffer.alloc(60_000)]));
    expect(verdict).toEqual({ outcome: 'unavailable', reason: SCAN_TOO_LARGE, beyondLimits: true });
    expect(bytesAtServer).toBeLessThan(100_000);
  });

  it('keeps clamd\'s own size-limit answer even when the connection is then reset', async () => {
    const socketPath = await fakeClamd((socket) => {
      let total = 0;
      socket.on('data', (d: Buffer) => {
        total += d.length;
        if (total > 50_000) {
          socket.end('INSTREAM size limit exceeded. ERROR\0');
          socket.destroy();
        }
      });
    });
    const source = Readable.from((function* () {
      for (let i = 0; i < 100; i++) yield Buffer.alloc(32 * 1024);
    })());
    const verdict = await new ClamdScanner({ socketPath }).scan(source);
    expect(verdict.outcome).toBe('unavailable');
  });
});
