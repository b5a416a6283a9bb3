// The Scanner port over clamd's socket protocol: streams a file with zINSTREAM (length-prefixed
// chunks, with backpressure, never buffering the file) and fails closed — any doubt is 'unavailable'.
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Scanner, ScanVerdict } from '../domain/ports.js';

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
}

type Step = { done: true } | { done: false; chunk: Buffer } | { error: unknown };

/** Why a conversation with clamd ended. */
type End =
  | { kind: 'reply'; text: string }
  | { kind: 'closed' }
  | { kind: 'error'; error: Error }
  | { kind: 'timeout'; what: string }
  | { kind: 'aborted' };

const unavailable = (reason: string): ScanVerdict => ({ outcome: 'unavailable', reason });
const beyondLimits = (reason: string): ScanVerdict => ({ outcome: 'unavailable', reason, beyondLimits: true });

export class ClamdScanner implements Scanner {
  readonly maxStreamBytes: number;
  private readonly opts: Required<Omit<ClamdScannerOptions, 'socketPath' | 'host' | 'port' | 'versionSuffix'>> &
    Pick<ClamdScannerOptions, 'socketPath' | 'host' | 'port' | 'versionSuffix'>;
  private engineCache: { value: string; at: number } | undefined;

  constructor(options: ClamdScannerOptions) {
    if (!options.socketPath && !(options.host && options.port)) throw new Error('ClamdScanner needs socketPath, or host and port');
    this.opts = {
      ...options,
      maxStreamBytes: options.maxStreamBytes ?? DEFAULT_MAX_STREAM_BYTES,
      connectTimeoutMs: options.connectTimeoutMs ?? 2000,
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
      replyTimeoutMs: options.replyTimeoutMs ?? 330_000,
      chunkBytes: options.chunkBytes ?? 256 * 1024,
    };
    this.maxStreamBytes = this.opts.maxStreamBytes;
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
    let session: Session;
    try {
      session = await Session.open(this.opts, signal);
    } catch (error) {
      return giveUp(unavailable(`clamd unreachable: ${message(error)}`));
    }
    try {
      const early = await session.write(Buffer.from('zINSTREAM\0'));
      if (early) return giveUp(this.interpret(early, 'sending the command'));
      let sent = 0;
      for (;;) {
        const raced = await session.race(pull());
        if ('end' in raced) return giveUp(this.interpret(raced.end, 'streaming'));
        const step = raced.value;
        pending = undefined;
        if ('error' in step) return unavailable(`source stream failed: ${message(step.error)}`);
        if (step.done) break;
        if (sent + step.chunk.length > this.maxStreamBytes) return giveUp(beyondLimits(SCAN_TOO_LARGE));
        for (let at = 0; at < step.chunk.length; at += this.opts.chunkBytes) {
          const piece = step.chunk.subarray(at, at + this.opts.chunkBytes);
          const header = Buffer.allocUnsafe(4);
          header.writeUInt32BE(piece.length);
          const ended = await session.write(header, piece);
          if (ended) return giveUp(this.interpret(ended, 'streaming'));
        }
        sent += step.chunk.length;
      }
      const ended = (await session.write(Buffer.alloc(4))) ?? (await session.reply(this.opts.replyTimeoutMs));
      // clamd answers before it deletes the stream's spool file, and closes the connection after:
      // waiting for the close means the next stream (the next segment of the same file) never
      // finds the last one still on tmpfs, so one scan holds one spool at a time.
      if (ended.kind === 'reply') await session.hungUp(CLOSE_AFTER_REPLY_MS);
      const verdict = this.interpret(ended, 'waiting for the verdict');
      if (verdict.outcome === 'unavailable') return verdict;
      const engine = await this.engine();
      return verdict.outcome === 'infected' ? { ...verdict, engine } : { outcome: 'clean', engine };
    } finally {
      session.close();
    }
  }

  /** clamd's engine and database version, e.g. "ClamAV 1.4.6/27473/Tue Nov 24 09:24:01 2026". */
  async version(): Promise<string> {
    const text = await this.request('zVERSION\0', this.opts.idleTimeoutMs);
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

  /** Cached for a minute: the verdict names the engine without a VERSION round trip per scan. */
  private async engine(): Promise<string> {
    if (this.engineCache && Date.now() - this.engineCache.at < 60_000) return this.engineCache.value;
    try {
      return await this.version();
    } catch {
      return 'ClamAV';
    }
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
  private async request(command: string, timeoutMs: number): Promise<string> {
    const session = await Session.open(this.opts, undefined);
    try {
      const end = (await session.write(Buffer.from(command))) ?? (await session.reply(timeoutMs));
      if (end.kind !== 'reply') throw new Error(`clamd ${command.slice(1, -1)}: ${describeEnd(end)}`);
      return end.text;
    } finally {
      session.close();
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

const MAX_REPLY_BYTES = 4096;
/** How long to wait for clamd to hang up after its verdict (it does at once; this only bounds a stuck peer). */
const CLOSE_AFTER_REPLY_MS = 2000;

/**
 * One socket conversation. `ended` settles once, with the first of: a complete (NUL-terminated)
 * reply, the socket closing or failing, or an abort. Every wait races against it, so clamd
 * hanging up mid-stream is noticed at once and never surfaces as an unhandled 'error' event.
 */
class Session {
  private readonly ended: Promise<End>;
  private settle!: (end: End) => void;
  private settled: End | undefined;
  private replyBuffer = Buffer.alloc(0);
  /**
   * Who is waiting for the end. Plain callbacks removed once their wait is over: Promise.race
   * against the long-lived `ended` promise would leave one reaction per chunk attached to it,
   * each keeping that chunk alive until the scan finished (1 GiB held for a 1 GiB file).
   */
  private readonly endWaiters = new Set<(end: End) => void>();
  /** Settles when the peer has closed the socket (or it failed). */
  private readonly socketClosed: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    private readonly idleTimeoutMs: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.ended = new Promise<End>((resolve) => {
      this.settle = (end) => {
        if (this.settled) return;
        this.settled = end;
        resolve(end);
        for (const waiter of this.endWaiters) waiter(end);
        this.endWaiters.clear();
      };
    });
    this.socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      this.replyBuffer = Buffer.concat([this.replyBuffer, chunk]);
      const nul = this.replyBuffer.indexOf(0);
      if (nul >= 0) this.settle({ kind: 'reply', text: this.replyBuffer.subarray(0, nul).toString('utf8').trim() });
      else if (this.replyBuffer.length > MAX_REPLY_BYTES) this.settle({ kind: 'error', error: new Error('clamd reply too long') });
    });
    // A reply without its NUL (older clamd, or a size-limit error followed by close) still counts.
    socket.on('end', () => this.settle(this.replyBuffer.length > 0 ? { kind: 'reply', text: this.replyBuffer.toString('utf8').replace(/\0/g, '').trim() } : { kind: 'closed' }));
    socket.on('close', () => this.settle(this.replyBuffer.length > 0 ? { kind: 'reply', text: this.replyBuffer.toString('utf8').replace(/\0/g, '').trim() } : { kind: 'closed' }));
    socket.on('error', (error) => {
      // EPIPE/ECONNRESET after clamd has already answered (size limit) should not hide that answer.
      if (this.replyBuffer.length > 0) this.settle({ kind: 'reply', text: this.replyBuffer.toString('utf8').replace(/\0/g, '').trim() });
      else this.settle({ kind: 'error', error });
    });
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly onAbort = (): void => this.settle({ kind: 'aborted' });

  static open(opts: { socketPath?: string; host?: string; port?: number; connectTimeoutMs: number; idleTimeoutMs: number }, signal: AbortSignal | undefined): Promise<Session> {
    return new Promise((resolve, reject) => {
      const socket = opts.socketPath ? connect({ path: opts.socketPath }) : connect({ host: opts.host as string, port: opts.port as number });
      const timer = setTimeout(() => fail(new Error(`no connection within ${opts.connectTimeoutMs} ms`)), opts.connectTimeoutMs);
      const onAbort = (): void => fail(new Error('aborted'));
      const fail = (error: Error): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.removeAllListeners('connect');
        socket.on('error', () => {});
        socket.destroy();
        reject(error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('error', fail);
      socket.once('connect', () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.removeListener('error', fail);
        if (!opts.socketPath) socket.setNoDelay(true);
        resolve(new Session(socket, opts.idleTimeoutMs, signal));
      });
    });
  }

  /** Resolves with the value, or with how the conversation ended if that came first. */
  race<T>(promise: Promise<T>): Promise<{ value: T } | { end: End }> {
    return this.untilEnd(promise.then((value) => ({ value })), (end) => ({ end }));
  }

  /** Settles with `work`, or with `onEnd(end)` if the conversation ends first, leaving nothing attached. */
  private untilEnd<T>(work: Promise<T>, onEnd: (end: End) => T): Promise<T> {
    if (this.settled) return Promise.resolve(onEnd(this.settled));
    return new Promise<T>((resolve, reject) => {
      const waiter = (end: End): void => resolve(onEnd(end));
      this.endWaiters.add(waiter);
      work.then(
        (value) => {
          this.endWaiters.delete(waiter);
          resolve(value);
        },
        (error: unknown) => {
          this.endWaiters.delete(waiter);
          reject(error);
        },
      );
    });
  }

  /**
   * Writes, waiting for drain when the socket is full; returns how it ended if it ended meanwhile.
   * Several buffers (a chunk's length and its bytes) go out corked, as one writev, not a syscall each.
   */
  async write(...buffers: Buffer[]): Promise<End | undefined> {
    if (this.settled) return this.settled;
    let flushed = true;
    if (buffers.length > 1) this.socket.cork();
    for (const buffer of buffers) flushed = this.socket.write(buffer);
    if (buffers.length > 1) this.socket.uncork();
    if (flushed) return undefined;
    let timer: NodeJS.Timeout | undefined;
    let onDrain: (() => void) | undefined;
    const outcome = await this.untilEnd<End | undefined>(
      new Promise<End | undefined>((resolve) => {
        onDrain = () => resolve(undefined);
        this.socket.once('drain', onDrain);
        timer = setTimeout(() => resolve({ kind: 'timeout', what: `(no data accepted for ${this.idleTimeoutMs} ms)` }), this.idleTimeoutMs);
      }),
      (end) => end,
    );
    clearTimeout(timer);
    if (onDrain) this.socket.removeListener('drain', onDrain);
    return outcome;
  }

  /** Waits for the reply (or the end) for at most `timeoutMs`. */
  async reply(timeoutMs: number): Promise<End> {
    let timer: NodeJS.Timeout | undefined;
    const end = await Promise.race([
      this.ended,
      new Promise<End>((resolve) => {
        timer = setTimeout(() => resolve({ kind: 'timeout', what: `(no verdict within ${timeoutMs} ms)` }), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return end;
  }

  /** Waits up to `timeoutMs` for the peer to close the connection; never throws. */
  async hungUp(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.socketClosed, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  close(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.settle({ kind: 'closed' });
    this.socket.destroy();
  }
}
