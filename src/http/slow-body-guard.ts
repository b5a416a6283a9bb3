// A deadline on every request body the server waits for, whoever reads it: a JSON or SCIM body
// Fastify parses, a WebDAV PROPFIND or LOCK body, a web form's fields, a logo. Without one a
// client trickling a byte now and then (slowloris) holds its connection, its socket and the
// handler's buffers for as long as it likes, and a few hundred such clients exhaust the server.
// File uploads have their own, finer deadlines (ingest.ts), with their own message; this guard
// waits a little longer, so they answer first and it is the backstop for every other reader.
//
// It watches the socket, not the stream, so it consumes nothing and needs no co-operation from the
// reader. Time counts against the client only while the server is waiting for it: while any of the
// body lies unread on our side (the reader is busy, or the request is queued for an upload slot),
// the client is not the one holding things up.
import type { IncomingMessage, ServerResponse } from 'node:http';

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
  bytesRead: number;
  received: number;
  idleMs: number;
  waitedMs: number;
}

export class SlowBodyGuard {
  readonly #watched = new Set<Watched>();
  #ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: SlowBodyLimits,
    private readonly tickMs = 1_000,
  ) {}

  /** Starts watching this request's body, if one is still to come. Stops by itself when it has all come, or when the response is under way. */
  watch(request: IncomingMessage, response: ServerResponse, requestId: string): void {
    if (request.complete || !hasBody(request)) return;
    this.#watched.add({ request, response, requestId, bytesRead: request.socket.bytesRead, received: 0, idleMs: 0, waitedMs: 0 });
    // One timer for every body being watched: a per-request timer would cost each small upload a timer set and cleared.
    this.#ticker ??= setInterval(() => this.#tick(), this.tickMs).unref();
  }

  /** How many bodies are being watched (for tests). */
  get watching(): number {
    return this.#watched.size;
  }

  /** At shutdown: forget every body, and stop the timer. */
  stop(): void {
    this.#watched.clear();
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  #tick(): void {
    for (const body of this.#watched) {
      const { request, response } = body;
      // Whole, gone, or answered already (a refusal part-way hands the connection to the lingering close).
      if (request.complete || request.destroyed || response.headersSent) {
        this.#watched.delete(body);
        continue;
      }
      const bytesRead = request.socket.bytesRead;
      const arrived = bytesRead - body.bytesRead;
      body.bytesRead = bytesRead;
      body.received += arrived;
      if (request.readableLength > 0) {
        body.idleMs = 0; // the reader has yet to take what came: the wait is ours
        continue;
      }
      body.waitedMs += this.tickMs;
      body.idleMs = arrived > 0 ? 0 : body.idleMs + this.tickMs;
      const { idleMs, minBytesPerSecond, graceMs } = this.limits;
      if (body.idleMs >= idleMs) {
        const seconds = Math.round(idleMs / 1000);
        this.#cut(body, `The request stopped: no data arrived for ${seconds} second${seconds === 1 ? '' : 's'}. Nothing was changed; try again.`);
      } else if (minBytesPerSecond > 0 && body.waitedMs >= graceMs && (body.received * 1000) / body.waitedMs < minBytesPerSecond) {
        this.#cut(body, `The request was too slow (under ${minBytesPerSecond} bytes a second). Nothing was changed; try again on a better connection.`);
      }
    }
    if (this.#watched.size === 0) this.stop();
  }

  /**
   * Answers 408 on the socket itself, as Node does for its own request timeout, and destroys the
   * request: every reader, whatever it is, sees the body fail rather than end, so no handler acts on
   * part of a body. The answer is sent only if no other has begun on this connection.
   */
  #cut(body: Watched, detail: string): void {
    this.#watched.delete(body);
    const socket = body.request.socket;
    if (!body.response.headersSent && socket.writable && socket.writableLength === 0) socket.write(timeoutResponse(detail, body.requestId));
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
