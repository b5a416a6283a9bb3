// Kept clamd sessions for small streams. clamd's IDSESSION keeps one connection open for many
// commands; a small upload then costs a write and a reply instead of a connect, an accept and a
// close on both sides (measured in docs/performance.md, "A kept clamd session").
//
// Only whole streams already in memory (at most a megabyte, clamd.scanner.ts decides) are sent on a
// kept session, one at a time, so that:
// - a session clamd closed while it sat idle (its ReadTimeout, a restart) costs nothing but a
//   resend: the caller still has every byte and sends them again on a connection of its own;
// - no stream longer than that megabyte is ever sent on one: clamd deletes a stream's spool file
//   only after it answers, and only a closed connection tells us it has (clamd.scanner.ts waits for
//   that), so a kept session leaves at most a megabyte on clamd's tmpfs behind its last answer.
// Every reply must carry the number of the command it answers; anything else (a wrong number,
// bytes while idle, bytes after the reply) ends the session, and the command's answer is an error,
// never a verdict.
import type { Socket } from 'node:net';
import { MAX_REPLY_BYTES, framed, type End } from './clamd.socket.js';

export interface KeptSessionOptions {
  /** Most sessions kept open while idle; more may be open while scans run, and close after. */
  maxIdle: number;
  /** An idle session is closed after this long, well inside clamd's ReadTimeout (300 s in ours). */
  idleMs: number;
  /** Largest INSTREAM chunk written at once. */
  chunkBytes: number;
}

/** What a kept-session scan came to, and whether it ran on a session used before (then a hang-up may be its idle end). */
export interface KeptScan {
  end: End;
  reused: boolean;
}

const INSTREAM = Buffer.from('zINSTREAM\0');
const TERMINATOR = Buffer.alloc(4);

export class KeptSessions {
  private idle: KeptSession[] = [];
  private closed = false;

  constructor(
    private readonly connect: (signal: AbortSignal | undefined) => Promise<Socket>,
    private readonly o: KeptSessionOptions,
  ) {}

  /**
   * Sends `stream` (a whole stream) as one INSTREAM on an idle session, or on a new one, and waits
   * up to `replyTimeoutMs` for its answer. Rejects only when no new session could be opened.
   */
  async scan(stream: Buffer, replyTimeoutMs: number, signal: AbortSignal | undefined): Promise<KeptScan> {
    let session = this.takeIdle();
    const reused = session !== undefined;
    if (!session) session = KeptSession.start(await this.connect(signal));
    const end = await session.instream(stream, this.o.chunkBytes, replyTimeoutMs, signal);
    if (end.kind === 'reply' && session.reusable && !this.closed && this.idle.length < this.o.maxIdle) {
      session.rest(this.o.idleMs, (ended) => this.forget(ended));
      this.idle.push(session);
    } else {
      session.close();
    }
    return { end, reused };
  }

  /** Closes every idle session (at shutdown); scans still running close theirs when they finish. */
  close(): void {
    this.closed = true;
    for (const session of this.idle.splice(0)) session.close();
  }

  /** The most recently used idle session still open (the one least likely to have timed out). */
  private takeIdle(): KeptSession | undefined {
    for (;;) {
      const session = this.idle.pop();
      if (!session) return undefined;
      if (session.wake()) return session;
    }
  }

  private forget(session: KeptSession): void {
    const at = this.idle.indexOf(session);
    if (at >= 0) this.idle.splice(at, 1);
  }
}

/** One IDSESSION connection: at most one command in flight, each reply checked against its number. */
class KeptSession {
  private nextId = 1;
  private received = Buffer.alloc(0);
  /** The command in flight: its number, and who waits for its end. */
  private inFlight: { id: number; settle: (end: End) => void } | undefined;
  /** Set once the connection ended or broke the protocol; it is never used again. */
  private over: End | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private onIdleEnd: ((session: KeptSession) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('end', () => this.finish({ kind: 'closed' }));
    socket.on('close', () => this.finish({ kind: 'closed' }));
    socket.on('error', (error) => this.finish({ kind: 'error', error }));
  }

  static start(socket: Socket): KeptSession {
    const session = new KeptSession(socket);
    socket.write('zIDSESSION\0');
    return session;
  }

  /** True while nothing about the session forbids another command on it. */
  get reusable(): boolean {
    return this.over === undefined && this.received.length === 0;
  }

  /** Sends one whole stream and waits for its reply, with the session's number stripped and checked. */
  instream(stream: Buffer, chunkBytes: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<End> {
    if (this.over) return Promise.resolve(this.over);
    if (signal?.aborted) return Promise.resolve(this.abandon({ kind: 'aborted' }));
    const id = this.nextId++;
    return new Promise<End>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => settle(this.abandon({ kind: 'aborted' }));
      const settle = (end: End): void => {
        if (!this.inFlight) return;
        this.inFlight = undefined;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(end);
      };
      this.inFlight = { id, settle };
      signal?.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(() => settle(this.abandon({ kind: 'timeout', what: `(no verdict within ${timeoutMs} ms)` })), timeoutMs);
      this.socket.cork();
      this.socket.write(INSTREAM);
      for (const buffer of framed(stream, chunkBytes)) this.socket.write(buffer);
      this.socket.write(TERMINATOR);
      this.socket.uncork();
    });
  }

  /** Puts the session aside: not keeping the process alive, closed after `idleMs` or when clamd ends it. */
  rest(idleMs: number, onIdleEnd: (session: KeptSession) => void): void {
    this.onIdleEnd = onIdleEnd;
    this.socket.unref();
    this.idleTimer = setTimeout(() => this.close(), idleMs);
    this.idleTimer.unref();
  }

  /** Takes the session back from rest; false when it ended meanwhile. */
  wake(): boolean {
    clearTimeout(this.idleTimer);
    this.onIdleEnd = undefined;
    if (!this.reusable) {
      this.close();
      return false;
    }
    this.socket.ref();
    return true;
  }

  /** Hangs up; clamd ends the session when its connection closes (no END needed). */
  close(): void {
    clearTimeout(this.idleTimer);
    this.finish({ kind: 'closed' });
    this.socket.destroy();
  }

  private onData(data: Buffer): void {
    if (this.over) return;
    this.received = Buffer.concat([this.received, data]);
    const nul = this.received.indexOf(0);
    if (!this.inFlight) return this.finish({ kind: 'error', error: new Error('clamd sent bytes no command asked for') });
    if (nul < 0) {
      if (this.received.length > MAX_REPLY_BYTES) this.finish({ kind: 'error', error: new Error('clamd reply too long') });
      return;
    }
    if (nul !== this.received.length - 1) return this.finish({ kind: 'error', error: new Error('clamd sent more than one reply to one command') });
    const text = this.received.subarray(0, nul).toString('utf8');
    this.received = Buffer.alloc(0);
    const numbered = /^(\d+): (.*)$/s.exec(text);
    if (!numbered || Number(numbered[1]) !== this.inFlight.id) {
      return this.finish({ kind: 'error', error: new Error(`clamd answered command ${this.inFlight.id} of its session with "${text.slice(0, 200)}"`) });
    }
    this.inFlight.settle({ kind: 'reply', text: (numbered[2] as string).trim() });
  }

  /** Ends the command in flight with `end`, and the session with it. */
  private abandon(end: End): End {
    this.finish(end);
    this.socket.destroy();
    return end;
  }

  private finish(end: End): void {
    if (this.over) return;
    this.over = end;
    this.inFlight?.settle(end);
    const onIdleEnd = this.onIdleEnd;
    this.onIdleEnd = undefined;
    onIdleEnd?.(this);
    if (end.kind !== 'closed') this.socket.destroy();
  }
}
