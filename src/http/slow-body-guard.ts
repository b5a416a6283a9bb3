// A deadline on every request body the server waits for, whoever reads it: a JSON or SCIM body
// Fastify parses, a WebDAV PROPFIND or LOCK body, a web form. Without one a client trickling a byte
// now and then (slowloris) holds its connection, its socket and the reader's buffers for as long as it
// likes, and a few hundred such clients exhaust the server. A stalled body is answered 408, "nothing
// was changed", which is true of a reader that acts only on a whole body. A reader that acts piece by
// piece takes the stall over instead (handOver) and answers with what it did: the web upload form,
// which stores each file as it comes (ui/multipart.ts). Uploads have their own, finer deadlines with
// their own message (ingest.ts); this guard waits a little longer, so they answer first.
//
// It counts the body's own bytes as the HTTP parser hands them over, so bytes that carry no body
// (leading zeros of a chunk size, say) buy no time, and it consumes nothing, so it needs no
// co-operation from the reader. Time counts against the client only while the server is waiting for
// it: not while any of the body lies unread on our side (a busy reader), nor while the connection is
// paused (Node pauses it while answers to pipelined requests are backed up).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';

export interface SlowBodyLimits {
  /** Cut off a body of which nothing has arrived for this long while the server waited for it. */
  idleMs: number;
  /** Slowest average rate accepted once the server has waited `graceMs` for the body (0: no minimum). */
  minBytesPerSecond: number;
  graceMs: number;
}

/** Why a body was cut off, in words for the person whose client sent it. */
export class SlowBodyError extends Error {
  readonly code = 'ERR_SLOW_REQUEST_BODY';
}

interface Watched {
  request: IncomingMessage;
  response: ServerResponse;
  requestId: string;
  /** Body bytes the parser has handed over, and how many of them the last tick had seen. */
  received: number;
  seen: number;
  /** When the last tick ran, and since when the client has sent nothing while the server waited (both ms). */
  tickedAt: number;
  quietSince: number;
  /** Whether the last tick found the server waiting on the client (only such time counts). */
  waiting: boolean;
  /** The reader that answers a stall itself, if one took it over, and when it was told of one. */
  onStall?: (cause: string) => void;
  handedOverAt?: number;
  /** How long in all the server has waited on the client for this body. */
  waitedMs: number;
}

export class SlowBodyGuard {
  readonly #watched = new Set<Watched>();
  /** The same entries by request, for handOver (weak: an entry goes with its request). */
  readonly #bodies = new WeakMap<IncomingMessage, Watched>();
  #ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: SlowBodyLimits,
    private readonly tickMs = 1_000,
  ) {}

  /** Starts watching this request's body, if one is still to come. Stops by itself when it has all come, or when the response is under way. */
  watch(request: IncomingMessage, response: ServerResponse, requestId: string): void {
    // A request injected in-process (tests, light-my-request) has no connection to hold.
    if (request.complete || !hasBody(request) || !(request.socket instanceof Socket)) return;
    const now = Date.now();
    const body: Watched = { request, response, requestId, received: 0, seen: 0, tickedAt: now, quietSince: now, waiting: false, waitedMs: 0 };
    // The parser hands every piece of the body to push(): counted there, whoever reads it and however.
    const push = request.push;
    const watched = this.#watched;
    request.push = function countedPush(this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding) {
      if (chunk === null) watched.delete(body); // the body has all come
      else if (chunk !== undefined) body.received += (chunk as Uint8Array).byteLength ?? 0;
      return push.call(this, chunk, encoding);
    };
    this.#bodies.set(request, body);
    watched.add(body);
    // One timer for every body being watched: a per-request timer would cost each small upload a timer set and cleared.
    this.#ticker ??= setInterval(() => this.#tick(), this.tickMs).unref();
  }

  /**
   * For a reader that acts on the body piece by piece: when the body stalls, `onStall` is called with
   * why ("no data arrived for 35 seconds") instead of the 408, and the reader answers with what it did.
   * It must stop reading and answer at once: a request still unanswered `idleMs` later is cut off
   * (no 408: the reader may have acted). Nothing happens for a request whose body had all come.
   */
  handOver(request: IncomingMessage, onStall: (cause: string) => void): void {
    const body = this.#bodies.get(request);
    if (body) body.onStall = onStall;
  }

  /** How many bodies are being watched (for tests). */
  get watching(): number {
    return this.#watched.size;
  }

  /** At shutdown: a body still awaited will not be served; cut it off rather than wait for it, and stop the timer. */
  closeAll(): void {
    for (const body of this.#watched) body.request.destroy(new SlowBodyError('The server is shutting down.'));
    this.#watched.clear();
    this.#stop();
  }

  #stop(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  #tick(): void {
    const now = Date.now();
    for (const body of this.#watched) {
      try {
        this.#check(body, now);
      } catch {
        // This runs on a timer: a throw would end the whole server. An entry it cannot judge is let go.
        this.#watched.delete(body);
      }
    }
    if (this.#watched.size === 0) this.#stop();
  }

  #check(body: Watched, now: number): void {
    const { request, response } = body;
    // Whole, gone, or answered already (a refusal part-way hands the connection to the lingering close).
    if (request.complete || request.destroyed || response.headersSent) {
      this.#watched.delete(body);
      return;
    }
    if (body.handedOverAt !== undefined) {
      // Its reader was told of the stall and has not answered: it is stuck, so the connection goes.
      if (now - body.handedOverAt >= this.limits.idleMs) {
        this.#watched.delete(body);
        request.destroy(new SlowBodyError('The request stopped, and its answer never came.'));
      }
      return;
    }
    // What arrived since the last tick is taken to have come at this one, so a body is never cut off early.
    const arrived = body.received > body.seen;
    body.seen = body.received;
    const elapsed = now - body.tickedAt;
    body.tickedAt = now;
    const waited = body.waiting;
    body.waiting = this.#waitingOnClient(body);
    if (!body.waiting) {
      body.quietSince = now; // the wait is ours, not the client's
      return;
    }
    if (waited) body.waitedMs += elapsed;
    if (arrived) body.quietSince = now;
    const { idleMs, minBytesPerSecond, graceMs } = this.limits;
    if (now - body.quietSince >= idleMs) {
      const seconds = Math.round(idleMs / 1000);
      this.#stalled(body, `no data arrived for ${seconds} second${seconds === 1 ? '' : 's'}`);
    } else if (minBytesPerSecond > 0 && body.waitedMs >= graceMs && (body.received * 1000) / body.waitedMs < minBytesPerSecond) {
      this.#stalled(body, `the data came too slowly (under ${minBytesPerSecond} bytes a second)`);
    }
  }

  /**
   * Whether the client is the one the body waits on: not while part of it lies unread on our side
   * (the reader is busy), nor while the connection is paused (Node pauses it when a request arrives
   * while answers to those before it are backed up, and reads nothing more until they drain). A body
   * pipelined behind an answer that is merely unfinished is still read, so it is still waited on.
   */
  #waitingOnClient(body: Watched): boolean {
    return body.request.readableLength === 0 && !body.request.socket.isPaused();
  }

  #stalled(body: Watched, cause: string): void {
    if (body.onStall) {
      // Still watched, until answered: closeAll cuts it at shutdown, and a reader that never answers is cut off.
      body.handedOverAt = Date.now();
      body.onStall(cause);
      return;
    }
    this.#watched.delete(body);
    this.#cut(body, `The request stopped: ${cause}. Nothing was changed; try again.`);
  }

  /**
   * Answers 408 on the socket itself, as Node does for its own request timeout, and destroys the
   * request: every reader, whatever it is, sees the body fail rather than end, so no handler acts on
   * part of a body. The 408 is written only when it can be read as this request's answer: this
   * response owns the connection, and nothing of any response is on its way.
   */
  #cut(body: Watched, detail: string): void {
    const socket = body.request.socket;
    const answerable = body.response.socket === socket && !body.response.headersSent && socket.writable && socket.writableLength === 0;
    if (answerable) socket.write(timeoutResponse(detail, body.requestId));
    body.request.destroy(new SlowBodyError(detail));
  }
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function timeoutResponse(detail: string, requestId: string): string {
  const problem = JSON.stringify({ type: 'https://strongroom.local/problems/timeout', title: 'Request timeout', status: 408, detail, requestId });
  return [
    'HTTP/1.1 408 Request Timeout',
    'Content-Type: application/problem+json',
    `Content-Length: ${Buffer.byteLength(problem)}`,
    'Cache-Control: no-store',
    'X-Content-Type-Options: nosniff',
    `X-Request-Id: ${requestId}`,
    'Connection: close',
    '',
    problem,
  ].join('\r\n');
}
