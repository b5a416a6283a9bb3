// ClamdScanner against fake clamd servers: reply parsing, framing, and failing closed on
// refusals, silence, hang-ups and backpressure — the cases a real clamd rarely shows on demand.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClamdScanner, parseReply, SCAN_ENCRYPTED, SCAN_LIMITS_EXCEEDED, SCAN_TOO_LARGE } from './clamd.scanner.js';

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
  const socketPath = path.join(dir, `fake-${servers.length}.sock`);
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
    // A protected archive it could not open (AlertEncryptedArchive): no verdict on it, and asking again will not help.
    expect(parseReply('stream: Heuristics.Encrypted.Zip FOUND')).toEqual({
      outcome: 'unavailable', reason: `${SCAN_ENCRYPTED} (Heuristics.Encrypted.Zip)`, beyondLimits: true, encrypted: 'Heuristics.Encrypted.Zip',
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

  it('names the signatures clamd had before the stream reached it, not a set reloaded during the scan', async () => {
    // A reload while a file is scanned leaves that scan on the set it began with. Read after the verdict,
    // VERSION named the new set, which never judged the file.
    let daily = 1;
    const socketPath = await fakeClamd((socket) => {
      const parse = instreamParser(() => {
        daily = 2;
        socket.end('stream: OK\0');
      });
      socket.on('data', (data: Buffer) => {
        if (data.toString().startsWith('zVERSION\0')) socket.end(`ClamAV 9.9.9/${daily}/Fake\0`);
        else parse(data);
      });
    });
    const scanner = new ClamdScanner({ socketPath });
    expect(await scanner.scan(Readable.from([Buffer.from('judged by the first set')]))).toEqual({ outcome: 'clean', engine: 'ClamAV 9.9.9/1/Fake' });
    expect(daily).toBe(2);
    expect(await scanner.version()).toBe('ClamAV 9.9.9/2/Fake');
    expect(await scanner.scan(Readable.from([Buffer.from('judged by the second')]))).toEqual({ outcome: 'clean', engine: 'ClamAV 9.9.9/2/Fake' });
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

/**
 * A fake clamd that speaks IDSESSION: after "zIDSESSION\0" it reads INSTREAM commands one after
 * another and calls `onStream` with each payload and its number in the session; a connection
 * without IDSESSION is handed to `onPlain` (the scanner's own-connection path, or VERSION).
 * Counts sessions and plain INSTREAM connections, and notes which sessions have closed.
 */
function sessionClamd(
  onStream: (socket: Socket, payload: Buffer, id: number, frames: number[]) => void,
  onPlain: (socket: Socket, data: Buffer) => void = (socket, data) => void (answerVersion(socket, data) || socket.destroy()),
): { connect: (socket: Socket) => void; sessions: number; plain: number; closedSessions: number[] } {
  const counts = { sessions: 0, plain: 0, closedSessions: [] as number[] };
  const connect = (socket: Socket): void => {
    let buffer = Buffer.alloc(0);
    let mode: 'unknown' | 'session' | 'plain' = 'unknown';
    let id = 0;
    let inStream = false;
    const chunks: Buffer[] = [];
    socket.on('data', (data: Buffer) => {
      if (mode === 'plain') return onPlain(socket, data);
      buffer = Buffer.concat([buffer, data]);
      if (mode === 'unknown') {
        const idSession = Buffer.from('zIDSESSION\0');
        if (buffer.length < idSession.length && idSession.subarray(0, buffer.length).equals(buffer)) return;
        if (!buffer.subarray(0, idSession.length).equals(idSession)) {
          mode = 'plain';
          if (buffer.toString('latin1').startsWith('zINSTREAM\0')) counts.plain++;
          return onPlain(socket, buffer);
        }
        mode = 'session';
        const session = ++counts.sessions;
        socket.on('close', () => counts.closedSessions.push(session));
        buffer = buffer.subarray(idSession.length);
      }
      for (;;) {
        if (!inStream) {
          const nul = buffer.indexOf(0);
          if (nul < 0) return;
          expect(buffer.subarray(0, nul).toString()).toBe('zINSTREAM');
          buffer = buffer.subarray(nul + 1);
          inStream = true;
          id++;
        }
        if (buffer.length < 4) return;
        const length = buffer.readUInt32BE(0);
        if (length === 0) {
          buffer = buffer.subarray(4);
          inStream = false;
          onStream(socket, Buffer.concat(chunks), id, chunks.splice(0).map((chunk) => chunk.length));
          continue;
        }
        if (buffer.length < 4 + length) return;
        chunks.push(buffer.subarray(4, 4 + length));
        buffer = buffer.subarray(4 + length);
      }
    });
  };
  return Object.assign(counts, { connect });
}

/** Answers a plain INSTREAM connection as clamd does: the verdict, then it hangs up. */
function plainAnswer(reply: string, received: Buffer[] = []): (socket: Socket, data: Buffer) => void {
  const parsers = new WeakMap<Socket, (data: Buffer) => void>();
  return (socket, data) => {
    let parse = parsers.get(socket);
    if (!parse) {
      parse = instreamParser((payload) => {
        received.push(payload);
        socket.end(`${reply}\0`);
      });
      parsers.set(socket, parse);
    }
    if (!answerVersion(socket, data)) parse(data);
  };
}

describe('ClamdScanner with kept sessions (IDSESSION), against a fake clamd', () => {
  const KEPT = { keptSessions: { maxStreamBytes: 1024 } };

  it('sends small streams one after another over one session, each reply checked against its number', async () => {
    const payloads: Buffer[] = [];
    const fake = sessionClamd(
      (socket, payload, id) => {
        payloads.push(payload);
        socket.write(payload.includes('bad') ? `${id}: stream: Fake.Sig FOUND\0` : `${id}: stream: OK\0`);
      },
      plainAnswer('stream: OK'),
    );
    const scanner = new ClamdScanner({ socketPath: await fakeClamd(fake.connect), chunkBytes: 100, ...KEPT });
    expect(await scanner.scan(Readable.from([Buffer.from('first '), Buffer.from('file')]))).toEqual({ outcome: 'clean', engine: 'ClamAV 9.9.9/1/Fake' });
    expect(await scanner.scan(Readable.from([Buffer.from('a bad file')]))).toEqual({ outcome: 'infected', signature: 'Fake.Sig', engine: 'ClamAV 9.9.9/1/Fake' });
    expect(await scanner.scan(Readable.from([Buffer.alloc(0)]))).toMatchObject({ outcome: 'clean' });
    expect(await scanner.scan(Readable.from([Buffer.alloc(250, 1)]))).toMatchObject({ outcome: 'clean' });
    expect(payloads).toEqual([Buffer.from('first file'), Buffer.from('a bad file'), Buffer.alloc(0), Buffer.alloc(250, 1)]);
    expect(fake.sessions).toBe(1);
    scanner.close();
  });

  it('never reads a reply numbered for another command, or unnumbered, as a verdict', async () => {
    for (const reply of ['2: stream: OK', 'stream: OK', '1: stream: OK\0' + '2: stream: OK', '01x: stream: OK']) {
      const fake = sessionClamd((socket) => socket.write(`${reply}\0`));
      const scanner = new ClamdScanner({ socketPath: await fakeClamd(fake.connect), ...KEPT });
      const verdict = await scanner.scan(Readable.from([Buffer.from('data')]));
      expect(verdict, reply).toMatchObject({ outcome: 'unavailable', reason: expect.stringContaining('clamd connection failed while scanning') });
      scanner.close();
    }
  });

  it('sends a stream again on a connection of its own when its kept session turns out to have closed', async () => {
    const plain: Buffer[] = [];
    let streams = 0;
    const fake = sessionClamd((socket, _payload, id) => {
      // The first stream is answered; the session then dies the moment the next one arrives,
      // as when clamd's ReadTimeout closes it just as we write.
      if (++streams === 1) socket.write(`${id}: stream: OK\0`);
      else socket.destroy();
    }, plainAnswer('stream: Fake.Sig FOUND', plain));
    const scanner = new ClamdScanner({ socketPath: await fakeClamd(fake.connect), ...KEPT });
    expect(await scanner.scan(Readable.from([Buffer.from('one')]))).toMatchObject({ outcome: 'clean' });
    expect(await scanner.scan(Readable.from([Buffer.from('two '), Buffer.from('bytes')]))).toMatchObject({ outcome: 'infected', signature: 'Fake.Sig' });
    expect(plain).toEqual([Buffer.from('two bytes')]);
    expect(fake.plain).toBe(1);
    scanner.close();
  });

  it('is unavailable, not resent, when a new session fails', async () => {
    const fake = sessionClamd((socket) => socket.destroy(), plainAnswer('stream: OK'));
    const scanner = new ClamdScanner({ socketPath: await fakeClamd(fake.connect), ...KEPT });
    expect(await scanner.scan(Readable.from([Buffer.from('x')]))).toEqual({ outcome: 'unavailable', reason: 'clamd closed the connection while scanning' });
    expect(fake.plain).toBe(0);
  });

  it('drops a session that clamd closed, or spoke on, while it sat idle', async () => {
    let streams = 0;
    const fake = sessionClamd((socket, _payload, id) => {
      streams++;
      socket.write(`${id}: stream: OK\0`);
      if (streams === 1) setTimeout(() => socket.write('1: stream: OK\0'), 20); // unasked-for bytes
      if (streams === 2) setTimeout(() => socket.end(), 20);
    });
    const scanner = new ClamdScanner({ socketPath: await fakeClamd(fake.connect), ...KEPT });
    for (let i = 0; i < 3; i++) {
      expect(await scanner.scan(Readable.from([Buffer.from(`file ${i}`)]))).toMatchObject({ outcome: 'clean' });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(fake.sessions).toBe(3);
    expect(fake.plain).toBe(0);
    scanner.close();
  });

  it('closes a session left idle, and every idle session on close()', async () => {
    const fake = sessionClamd((socket, _payload, id) => socket.write(`${id}: stream: OK\0`));
    const socketPath = await fakeClamd(fake.connect);
    const quick = new ClamdScanner({ socketPath, keptSessions: { maxStreamBytes: 1024, idleMs: 50 } });
    await quick.scan(Readable.from([Buffer.from('x')]));
    await expect.poll(() => fake.closedSessions).toEqual([1]);
    const kept = new ClamdScanner({ socketPath, ...KEPT });
    await kept.scan(Readable.from([Buffer.from('y')]));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fake.closedSessions).toEqual([1]);
    kept.close();
    await expect.poll(() => fake.closedSessions).toEqual([1, 2]);
  });

  it('sends a stream longer than the kept-session limit over a connection of its own, every byte in order', async () => {
    const plain: Buffer[] = [];
    const fake = sessionClamd((socket, _payload, id) => socket.write(`${id}: stream: OK\0`), plainAnswer('stream: OK', plain));
    const scanner = new ClamdScanner({ socketPath: await fakeClamd(fake.connect), ...KEPT });
    const parts = Array.from({ length: 30 }, (_, i) => Buffer.alloc(100, i));
    expect(await scanner.scan(Readable.from(parts))).toMatchObject({ outcome: 'clean' });
    expect(plain).toEqual([Buffer.concat(parts)]);
    expect(fake.sessions).toBe(0);
    scanner.close();
  });

  it('sends a small stream that arrived a byte at a time as one buffer, in as few frames as a whole one', async () => {
    const streams: Array<{ payload: Buffer; frames: number[] }> = [];
    const fake = sessionClamd((socket, payload, id, frames) => {
      streams.push({ payload, frames });
      socket.write(`${id}: stream: OK\0`);
    });
    const scanner = new ClamdScanner({ socketPath: await fakeClamd(fake.connect), chunkBytes: 8192, keptSessions: {} });
    const bytes = randomBytes(20_000);
    expect(await scanner.scan(Readable.from([...bytes].map((b) => Buffer.from([b]))))).toMatchObject({ outcome: 'clean' });
    expect(streams).toEqual([{ payload: bytes, frames: [8192, 8192, 3616] }]);
    scanner.close();
  });

  it('sends the bytes as they were read, even from a source that reuses its buffer', async () => {
    const payloads: Buffer[] = [];
    const fake = sessionClamd((socket, payload, id) => {
      payloads.push(payload);
      socket.write(`${id}: stream: OK\0`);
    });
    const scanner = new ClamdScanner({ socketPath: await fakeClamd(fake.connect), ...KEPT });
    async function* reusing(): AsyncGenerator<Buffer> {
      const buffer = Buffer.from('first piece ');
      yield buffer;
      buffer.fill('x'); // the scanner has read it: what it sends must not change
      yield Buffer.from('second piece');
    }
    expect(await scanner.scan(reusing())).toMatchObject({ outcome: 'clean' });
    expect(payloads).toEqual([Buffer.from('first piece second piece')]);
    scanner.close();
  });

  it('refuses a source deadline no timer can keep', () => {
    for (const sourceIdleTimeoutMs of [0, -1, 1.5, Infinity, 2 ** 31]) {
      expect(() => new ClamdScanner({ socketPath: 'x', sourceIdleTimeoutMs }), String(sourceIdleTimeoutMs)).toThrow(RangeError);
    }
  });

  it('gives up on a source that sends nothing for too long, before clamd hears of it', async () => {
    const fake = sessionClamd((socket, _payload, id) => socket.write(`${id}: stream: OK\0`));
    const scanner = new ClamdScanner({ socketPath: await fakeClamd(fake.connect), sourceIdleTimeoutMs: 200, ...KEPT });
    const source = new Readable({ read() {} }); // sends a little, then nothing, and never ends
    source.push(Buffer.from('a start'));
    const started = Date.now();
    expect(await scanner.scan(source)).toEqual({ outcome: 'unavailable', reason: 'source stream sent nothing for 200 ms' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(fake.sessions + fake.plain).toBe(0);
    source.destroy();
  });

  it('reads a reply split across packets, and neither resends nor keeps a reused session that timed out', async () => {
    let streams = 0;
    const fake = sessionClamd((socket, _payload, id) => {
      streams++;
      if (streams === 1) {
        socket.write(`${id}: str`);
        setTimeout(() => socket.write('eam: OK\0'), 30);
      } else if (streams === 3) {
        socket.write(`${id}: stream: OK\0`);
      } // the second stream is never answered; then a late answer would come too late to count
    }, plainAnswer('stream: OK'));
    const scanner = new ClamdScanner({ socketPath: await fakeClamd(fake.connect), replyTimeoutMs: 200, ...KEPT });
    expect(await scanner.scan(Readable.from([Buffer.from('one')]))).toMatchObject({ outcome: 'clean' });
    expect(await scanner.scan(Readable.from([Buffer.from('two')]))).toEqual({ outcome: 'unavailable', reason: 'clamd timed out (no verdict within 200 ms)' });
    expect(fake.plain).toBe(0);
    expect(await scanner.scan(Readable.from([Buffer.from('three')]))).toMatchObject({ outcome: 'clean' });
    expect(fake.sessions).toBe(2);
    scanner.close();
  });

  it('stops when aborted while it reads a small stream, before clamd hears of it', async () => {
    const fake = sessionClamd((socket, _payload, id) => socket.write(`${id}: stream: OK\0`));
    const scanner = new ClamdScanner({ socketPath: await fakeClamd(fake.connect), ...KEPT });
    const controller = new AbortController();
    const source = new Readable({ read() {} }); // never ends by itself
    source.push(Buffer.from('some bytes'));
    setTimeout(() => controller.abort(), 50);
    expect(await scanner.scan(source, { signal: controller.signal })).toEqual({ outcome: 'unavailable', reason: 'aborted' });
    expect(fake.sessions + fake.plain).toBe(0);
  });

  it('stops when aborted, or out of time, while it waits for a kept session\'s reply', async () => {
    const fake = sessionClamd(() => {}); // never answers
    const socketPath = await fakeClamd(fake.connect);
    const scanner = new ClamdScanner({ socketPath, ...KEPT });
    expect(await scanner.scan(Readable.from([Buffer.from('x')]), { signal: AbortSignal.timeout(100) })).toEqual({ outcome: 'unavailable', reason: 'aborted' });
    expect(await new ClamdScanner({ socketPath, replyTimeoutMs: 100, ...KEPT }).scan(Readable.from([Buffer.from('x')]))).toEqual({
      outcome: 'unavailable', reason: 'clamd timed out (no verdict within 100 ms)',
    });
  });
});
