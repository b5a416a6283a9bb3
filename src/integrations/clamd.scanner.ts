// The Scanner port over clamd's socket protocol: streams a file with zINSTREAM (length-prefixed
// chunks, with backpressure) and fails closed — any doubt is 'unavailable'. With kept sessions on,
// it first reads up to a megabyte into one buffer: a stream that ends within it goes over a kept
// session (clamd.kept-sessions.ts); a longer one is streamed, that buffer first, as always.
import type { Readable } from 'node:stream';
import type { Scanner, ScanVerdict } from '../domain/ports.js';
import { KeptSessions } from './clamd.kept-sessions.js';
import { Connection, connectToClamd, framed, type End } from './clamd.socket.js';

/**
 * clamd clamps MaxFileSize to 2 GiB - 3 and does not scan a stream longer than MaxFileSize, so
 * although StreamMaxLength may be set up to 4 GB, a longer stream could never get a verdict.
 */
export const CLAMD_MAX_FILE_BYTES = 2_147_483_645;
/** Default StreamMaxLength (and our client-side limit): 2000 MiB, below the ceiling above. */
export const DEFAULT_MAX_STREAM_BYTES = 2000 * 1024 * 1024;

/** Reasons given with `unavailable`, so callers can tell a permanent "too big" from a passing outage. */
export const SCAN_TOO_LARGE = 'too large for scanner';
export const SCAN_LIMITS_EXCEEDED = 'exceeds scanner limits';
export const SCAN_ENCRYPTED = 'password-protected content the scanner cannot read';

export interface ClamdScannerOptions {
  /** clamd's LocalSocket. Either this or host/port. */
  socketPath?: string;
  host?: string;
  port?: number;
  /** Must not exceed clamd's StreamMaxLength; longer streams are refused here, before sending them. */
  maxStreamBytes?: number;
  connectTimeoutMs?: number;
  /** Longest wait for clamd to accept more data (socket backpressure) before giving up. */
  idleTimeoutMs?: number;
  /** Longest wait for the verdict after the last byte; must exceed clamd's MaxScanTime. */
  replyTimeoutMs?: number;
  /** Largest INSTREAM chunk written at once. */
  chunkBytes?: number;
  /** Appended to clamd's VERSION (e.g. a digest of our own signature files, which VERSION omits). */
  versionSuffix?: string | (() => string);
  /**
   * Send small streams over kept clamd sessions (IDSESSION) instead of a connection each. Off when
   * absent. The scanner then copies up to `maxStreamBytes` of a stream (and the rest of the piece
   * that crosses it) into one buffer before it sends any: a stream that ends within it goes whole
   * over a kept session, and again over a connection of its own if that session, used before,
   * closed or failed before answering; a longer one goes over a connection of its own, as always.
   */
  keptSessions?: { maxStreamBytes?: number; maxIdle?: number; idleMs?: number };
  /**
   * Longest wait for the source's next bytes while they are read ahead for a kept session (default
   * 300 s, our clamd's ReadTimeout, which bounded the same wait when every stream had a connection).
   */
  sourceIdleTimeoutMs?: number;
}

/** The longest delay a Node timer keeps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Defaults for kept sessions: small files only, a few kept, closed long before clamd's ReadTimeout. */
const KEPT_DEFAULTS = { maxStreamBytes: 1024 * 1024, maxIdle: 4, idleMs: 5000 };

type Step = { done: true } | { done: false; chunk: Buffer } | { error: unknown };

const unavailable = (reason: string): ScanVerdict => ({ outcome: 'unavailable', reason });
const beyondLimits = (reason: string): ScanVerdict => ({ outcome: 'unavailable', reason, beyondLimits: true });

export class ClamdScanner implements Scanner {
  readonly maxStreamBytes: number;
  private readonly opts: Required<Omit<ClamdScannerOptions, 'socketPath' | 'host' | 'port' | 'versionSuffix' | 'keptSessions'>> &
    Pick<ClamdScannerOptions, 'socketPath' | 'host' | 'port' | 'versionSuffix'>;
  private engineCache: { value: string; at: number } | undefined;
  private readonly kept: { sessions: KeptSessions; maxStreamBytes: number } | undefined;

  constructor(options: ClamdScannerOptions) {
    if (!options.socketPath && !(options.host && options.port)) throw new Error('ClamdScanner needs socketPath, or host and port');
    const { keptSessions, ...rest } = options;
    this.opts = {
      ...rest,
      maxStreamBytes: options.maxStreamBytes ?? DEFAULT_MAX_STREAM_BYTES,
      connectTimeoutMs: options.connectTimeoutMs ?? 2000,
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
      replyTimeoutMs: options.replyTimeoutMs ?? 330_000,
      chunkBytes: options.chunkBytes ?? 256 * 1024,
      sourceIdleTimeoutMs: options.sourceIdleTimeoutMs ?? 300_000,
    };
    this.maxStreamBytes = this.opts.maxStreamBytes;
    const idle = this.opts.sourceIdleTimeoutMs;
    // A timer longer than 2^31 - 1 ms fires at once; 0 would refuse every source not ready at once.
    if (!Number.isInteger(idle) || idle < 1 || idle > MAX_TIMER_MS) throw new RangeError(`sourceIdleTimeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`);
    if (keptSessions) {
      const kept = { ...KEPT_DEFAULTS, ...keptSessions };
      this.kept = {
        sessions: new KeptSessions((signal) => connectToClamd(this.opts, signal), { maxIdle: kept.maxIdle, idleMs: kept.idleMs, chunkBytes: this.opts.chunkBytes }),
        maxStreamBytes: Math.min(kept.maxStreamBytes, this.maxStreamBytes),
      };
    }
  }

  /** Closes the kept sessions that sit idle (at shutdown); scans still running are not cut short. */
  close(): void {
    this.kept?.sessions.close();
  }

  /**
   * Streams `source` to clamd. Never rejects: failures are `unavailable` with a reason. When the
   * verdict is settled before the source ends (too large, clamd gone, timeout), the rest of the
   * source is read and discarded in the background, so a tee that also feeds the blob store never
   * stalls; destroy the source yourself if nobody else needs it. Aborting stops that reading.
   */
  async scan(source: Readable | AsyncIterable<Uint8Array>, options: { signal?: AbortSignal } = {}): Promise<ScanVerdict> {
    const { signal } = options;
    const iterator = (source as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
    let pending: Promise<Step> | undefined;
    const pull = (): Promise<Step> =>
      (pending ??= iterator.next().then(
        (r): Step => (r.done ? { done: true } : { done: false, chunk: typeof r.value === 'string' ? Buffer.from(r.value) : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength) }),
        (error: unknown): Step => ({ error }),
      ));
    const giveUp = (verdict: ScanVerdict): ScanVerdict => {
      this.discardRest(iterator, pending, signal);
      return verdict;
    };

    if (signal?.aborted) return giveUp(unavailable('aborted'));
    // The signatures the verdict names are those clamd had before this stream reached it: a reload
    // during the scan leaves the scan on the set it began with, so a version read after the verdict
    // could name signatures that never judged the file. Read before, it is never newer than the truth.
    const engine = await this.engine(signal);
    if (signal?.aborted) return giveUp(unavailable('aborted'));
    // What has been read of the source and not yet sent; `whole` once the source has ended.
    const head = new ReadAhead(this.kept?.maxStreamBytes ?? 0);
    let whole = false;
    if (this.kept) {
      while (head.length <= this.kept.maxStreamBytes) {
        const step = await untilAbortOrTimeout(pull(), signal, this.opts.sourceIdleTimeoutMs);
        if (step === 'aborted') return giveUp(unavailable('aborted'));
        if (step === 'timeout') return giveUp(unavailable(`source stream sent nothing for ${this.opts.sourceIdleTimeoutMs} ms`));
        pending = undefined;
        if ('error' in step) return unavailable(`source stream failed: ${message(step.error)}`);
        if (step.done) {
          whole = true;
          break;
        }
        head.append(step.chunk);
      }
      if (whole) {
        let outcome;
        try {
          outcome = await this.kept.sessions.scan(head.bytes(), this.opts.replyTimeoutMs, signal);
        } catch (error) {
          return unavailable(signal?.aborted ? 'aborted' : `clamd unreachable: ${message(error)}`);
        }
        // A session used before that closed or failed before answering (clamd's ReadTimeout or a
        // restart just as we wrote, or a reply that broke the protocol) gave no verdict. Every byte
        // is still here, so they go again, on a connection of their own, which answers for itself.
        // A new session that fails is clamd's failure and says so.
        const failedReused = outcome.reused && (outcome.end.kind === 'closed' || outcome.end.kind === 'error');
        if (!failedReused) return this.verdict(outcome.end, 'scanning', engine);
      }
    }

    let connection: Connection;
    try {
      connection = await Connection.open(this.opts, signal);
    } catch (error) {
      return giveUp(unavailable(signal?.aborted ? 'aborted' : `clamd unreachable: ${message(error)}`));
    }
    try {
      const early = await connection.write(Buffer.from('zINSTREAM\0'));
      if (early) return giveUp(this.interpret(early, 'sending the command'));
      let sent = 0;
      const send = async (chunk: Buffer): Promise<ScanVerdict | undefined> => {
        if (sent + chunk.length > this.maxStreamBytes) return giveUp(beyondLimits(SCAN_TOO_LARGE));
        const buffers = framed(chunk, this.opts.chunkBytes);
        for (let at = 0; at < buffers.length; at += 2) {
          const ended = await connection.write(buffers[at] as Buffer, buffers[at + 1] as Buffer);
          if (ended) return giveUp(this.interpret(ended, 'streaming'));
        }
        sent += chunk.length;
        return undefined;
      };
      if (head.length > 0) {
        const stopped = await send(head.take());
        if (stopped) return stopped;
      }
      while (!whole) {
        const raced = await connection.race(pull());
        if ('end' in raced) return giveUp(this.interpret(raced.end, 'streaming'));
        const step = raced.value;
        pending = undefined;
        if ('error' in step) return unavailable(`source stream failed: ${message(step.error)}`);
        if (step.done) break;
        const stopped = await send(step.chunk);
        if (stopped) return stopped;
      }
      const ended = (await connection.write(Buffer.alloc(4))) ?? (await connection.reply(this.opts.replyTimeoutMs));
      // clamd answers before it deletes the stream's spool file, and closes the connection after:
      // waiting for the close means the next stream (the next segment of the same file) never
      // finds the last one still on tmpfs, so one scan holds one spool at a time.
      if (ended.kind === 'reply') await connection.hungUp(CLOSE_AFTER_REPLY_MS);
      return this.verdict(ended, 'waiting for the verdict', engine);
    } finally {
      connection.close();
    }
  }

  /** clamd's engine and database version, e.g. "ClamAV 1.4.6/27473/Tue Nov 24 09:24:01 2026". */
  async version(): Promise<string> {
    return this.readVersion(this.opts.idleTimeoutMs, undefined);
  }

  private async readVersion(timeoutMs: number, signal: AbortSignal | undefined): Promise<string> {
    const text = await this.request('zVERSION\0', timeoutMs, signal);
    const suffix = typeof this.opts.versionSuffix === 'function' ? this.opts.versionSuffix() : this.opts.versionSuffix;
    const version = suffix ? `${text}/${suffix}` : text;
    this.engineCache = { value: version, at: Date.now() };
    return version;
  }

  /** True when clamd answers PONG; never throws. */
  async ping(): Promise<boolean> {
    try {
      return (await this.request('zPING\0', Math.min(this.opts.idleTimeoutMs, 5000))) === 'PONG';
    } catch {
      return false;
    }
  }

  /** Asks clamd to reload its signature databases now. */
  async reload(): Promise<void> {
    const text = await this.request('zRELOAD\0', this.opts.idleTimeoutMs);
    if (text !== 'RELOADING') throw new Error(`clamd answered RELOAD with "${text}"`);
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Cached for a minute: a verdict names the engine without a VERSION round trip per scan. Asked
   * before a scan, so a clamd that does not answer delays it by at most the connect timeout to connect
   * and as long again (or the reply timeout, if shorter) for the answer, the source unread meanwhile;
   * the verdict then names no version. A failure is not kept: the next scan asks again.
   */
  private async engine(signal: AbortSignal | undefined): Promise<string> {
    if (this.engineCache && Date.now() - this.engineCache.at < 60_000) return this.engineCache.value;
    try {
      return await this.readVersion(Math.min(this.opts.connectTimeoutMs, this.opts.replyTimeoutMs), signal);
    } catch {
      return 'ClamAV';
    }
  }

  /** The verdict an end of the conversation gives, naming the engine (as read before the scan) when clamd judged the stream. */
  private verdict(end: End, stage: string, engine: string): ScanVerdict {
    const verdict = this.interpret(end, stage);
    if (verdict.outcome === 'unavailable') return verdict;
    return verdict.outcome === 'infected' ? { ...verdict, engine } : { outcome: 'clean', engine };
  }

  private interpret(end: End, stage: string): ScanVerdict {
    switch (end.kind) {
      case 'reply':
        return parseReply(end.text);
      case 'closed':
        return unavailable(`clamd closed the connection while ${stage}`);
      case 'error':
        return unavailable(`clamd connection failed while ${stage}: ${end.error.message}`);
      case 'timeout':
        return unavailable(`clamd timed out ${end.what}`);
      case 'aborted':
        return unavailable('aborted');
    }
  }

  /** One short command (PING, VERSION, RELOAD) and its NUL-terminated answer. */
  private async request(command: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
    const connection = await Connection.open(this.opts, signal);
    try {
      const end = (await connection.write(Buffer.from(command))) ?? (await connection.reply(timeoutMs));
      if (end.kind !== 'reply') throw new Error(`clamd ${command.slice(1, -1)}: ${describeEnd(end)}`);
      return end.text;
    } finally {
      connection.close();
    }
  }

  private discardRest(iterator: AsyncIterator<Uint8Array | string>, pending: Promise<Step> | undefined, signal: AbortSignal | undefined): void {
    void (async () => {
      try {
        if (pending && 'error' in (await pending)) return;
        while (!signal?.aborted) {
          if ((await iterator.next()).done) return;
        }
        await iterator.return?.();
      } catch {
        // the source's owner sees its errors on its own side of the tee
      }
    })();
  }
}

/** Maps clamd's INSTREAM reply onto a verdict. Exported for tests. */
export function parseReply(text: string): ScanVerdict {
  if (text === 'stream: OK') return { outcome: 'clean', engine: 'ClamAV' };
  const found = /^stream: (.+) FOUND$/.exec(text);
  if (found) {
    const signature = found[1] as string;
    // With AlertExceedsMax, clamd names limit breaches like detections; they mean "not fully scanned".
    if (signature.startsWith('Heuristics.Limits.Exceeded')) return beyondLimits(`${SCAN_LIMITS_EXCEEDED} (${signature})`);
    // With AlertEncryptedArchive (and nothing else found: heuristics are reported last), a protected archive it could not open.
    if (signature.startsWith('Heuristics.Encrypted.')) return { outcome: 'unavailable', reason: `${SCAN_ENCRYPTED} (${signature})`, beyondLimits: true, encrypted: signature };
    return { outcome: 'infected', signature, engine: 'ClamAV' };
  }
  if (/size limit exceeded/i.test(text)) return beyondLimits(SCAN_TOO_LARGE);
  if (text.endsWith('ERROR')) return unavailable(`clamd error: ${text.replace(/\s*ERROR$/, '').slice(0, 200)}`);
  return unavailable(`unexpected clamd reply: ${text.slice(0, 200)}`);
}

function describeEnd(end: End): string {
  switch (end.kind) {
    case 'reply':
      return end.text;
    case 'closed':
      return 'connection closed without a reply';
    case 'error':
      return end.error.message;
    case 'timeout':
      return `timed out ${end.what}`;
    case 'aborted':
      return 'aborted';
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * `promise`'s value, or 'aborted' as soon as the signal fires, or 'timeout' after `timeoutMs`
 * (the promise is then left to settle unheard).
 */
function untilAbortOrTimeout<T>(promise: Promise<T>, signal: AbortSignal | undefined, timeoutMs: number): Promise<T | 'aborted' | 'timeout'> {
  if (signal?.aborted) return Promise.resolve('aborted');
  return new Promise((resolve, reject) => {
    const onAbort = (): void => done('aborted');
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    const done = (value: T | 'aborted' | 'timeout'): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(value);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(done, (error: unknown) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
  });
}

/**
 * The bytes read ahead of a kept-session decision, copied into one buffer that doubles as needed.
 * An uploader's stream may arrive a byte at a time: kept as pieces, a megabyte of them would cost
 * hundreds of megabytes of objects and a write each. Copied, not referenced, so the bytes clamd
 * is sent are the bytes read even if a source were to reuse its buffers.
 */
class ReadAhead {
  private data: Buffer = Buffer.alloc(0);
  length = 0;

  /** `limit`: where reading ahead stops, so doubling never allocates past it and the piece that crosses it. */
  constructor(private readonly limit: number) {}

  append(chunk: Buffer): void {
    const needed = this.length + chunk.length;
    if (needed > this.data.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, Math.min(2 * this.length, this.limit)));
      this.data.copy(grown, 0, 0, this.length);
      this.data = grown;
    }
    chunk.copy(this.data, this.length);
    this.length = needed;
  }

  /** What was read, as one buffer. */
  bytes(): Buffer {
    return this.data.subarray(0, this.length);
  }

  /** What was read, as one buffer, leaving nothing behind. */
  take(): Buffer {
    const bytes = this.bytes();
    this.data = Buffer.alloc(0);
    this.length = 0;
    return bytes;
  }
}
/** How long to wait for clamd to hang up after its verdict (it does at once; this only bounds a stuck peer). */
const CLOSE_AFTER_REPLY_MS = 2000;
