// Talking to clamd over its socket: reaching it, the ways a conversation with it can end, and one
// connection's conversation (a stream, or a short command). A connection per stream
// (clamd.scanner.ts) and a kept session (clamd.kept-sessions.ts) both read every end that is not a
// reply as "no verdict".
import { connect, type Socket } from 'node:net';

/** Why a conversation with clamd (or one command in a kept session) ended. */
export type End =
  | { kind: 'reply'; text: string }
  | { kind: 'closed' }
  | { kind: 'error'; error: Error }
  | { kind: 'timeout'; what: string }
  | { kind: 'aborted' };

export interface ClamdAddress {
  /** clamd's LocalSocket. Either this or host/port. */
  socketPath?: string;
  host?: string;
  port?: number;
  connectTimeoutMs: number;
}

/** Longest reply clamd gives (a signature name and its framing); anything longer is not clamd. */
export const MAX_REPLY_BYTES = 4096;

/** Connects to clamd within the timeout; rejects on failure or abort, leaving no socket behind. */
export function connectToClamd(address: ClamdAddress, signal: AbortSignal | undefined): Promise<Socket> {
  if (signal?.aborted) return Promise.reject(new Error('aborted'));
  return new Promise((resolve, reject) => {
    const socket = address.socketPath ? connect({ path: address.socketPath }) : connect({ host: address.host as string, port: address.port as number });
    const timer = setTimeout(() => fail(new Error(`no connection within ${address.connectTimeoutMs} ms`)), address.connectTimeoutMs);
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
      if (!address.socketPath) socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** INSTREAM framing: each piece of at most `chunkBytes` behind its 4-byte big-endian length. */
export function framed(chunk: Buffer, chunkBytes: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < chunk.length; at += chunkBytes) {
    const piece = chunk.subarray(at, at + chunkBytes);
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32BE(piece.length);
    out.push(header, piece);
  }
  return out;
}

/**
 * One connection, one conversation (a stream or a short command). `ended` settles once, with the
 * first of: a complete (NUL-terminated) reply, the socket closing or failing, or an abort. Every wait races against it, so clamd
 * hanging up mid-stream is noticed at once and never surfaces as an unhandled 'error' event.
 */
export class Connection {
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

  static async open(opts: { socketPath?: string; host?: string; port?: number; connectTimeoutMs: number; idleTimeoutMs: number }, signal: AbortSignal | undefined): Promise<Connection> {
    return new Connection(await connectToClamd(opts, signal), opts.idleTimeoutMs, signal);
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
