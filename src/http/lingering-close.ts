// Closing a connection whose request body was refused part-way (too large, disk full, malware in a
// stream), without losing the refusal. Node's HTTP server, answering with `Connection: close`, sends
// its FIN and destroys the socket at once; the client is usually still sending, and bytes arriving
// at a closed socket make the kernel answer with a reset, which on the client throws away the
// response it had not yet read. It sees "connection reset" (EPIPE or ECONNRESET) instead of "413:
// the file is over the 64 MiB limit". RFC 9112 §9.6 gives the cure servers such as Apache and nginx
// use, a lingering close: close only the sending side, keep reading and discarding what the client
// still sends, and close fully when it stops (its FIN, a quiet spell or a time cap).
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export interface LingerLimits {
  /** Close once nothing has arrived for this long (nginx's lingering_timeout). */
  quietMs: number;
  /** Close at the latest this long after the response (nginx's lingering_time). */
  totalMs: number;
}

export const DEFAULT_LINGER: LingerLimits = { quietMs: 5_000, totalMs: 30_000 };

const discard = (): void => undefined;

/** The connections of one server that are closing after a refused body. */
export class LingeringConnections {
  readonly #marked = new WeakSet<Socket>();
  readonly #open = new Set<Socket>();

  constructor(private readonly limits: LingerLimits = DEFAULT_LINGER) {}

  /**
   * Makes the close that follows this request's response a lingering one. Call it before the
   * response is sent, for a request whose body has not all arrived; the response must close the
   * connection.
   */
  lingerAfterResponse(request: IncomingMessage): void {
    const socket = request.socket;
    if (socket.destroyed || this.#marked.has(socket)) return;
    this.#marked.add(socket);
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
    discardTheRest(request);
    const limits = this.limits;
    // The server calls destroySoon once the last response has been handed to the socket.
    socket.destroySoon = function lingeringClose(this: Socket) {
      if (this.writable) this.end();
      const close = () => {
        clearTimeout(cap);
        this.destroy();
      };
      const cap = setTimeout(close, limits.totalMs);
      cap.unref();
      // Refreshed by every read, parsed or not; on expiry the server destroys the socket, as does `close`.
      this.setTimeout(limits.quietMs, close);
      this.once('end', close);
      this.once('close', () => clearTimeout(cap));
      // Once the refused body has all come, nothing after it is parsed (a request pipelined behind it
      // is not one to serve): the bytes are read raw and dropped until the client stops.
      if (request.complete) stopParsing(this);
      else request.once('end', () => stopParsing(this));
    };
  }

  /**
   * Whether this connection is closing after a refused body. A request pipelined behind that body
   * must not be served: its answer could never be sent, so its effects would be unseen by the client.
   */
  has(socket: Socket | null | undefined): boolean {
    return socket !== null && socket !== undefined && this.#marked.has(socket);
  }

  /** At shutdown a lingering connection owes nothing more: close them all rather than wait. */
  closeAll(): void {
    for (const socket of this.#open) socket.destroy();
    this.#open.clear();
  }
}

/**
 * Reads the rest of the request body and drops it, whoever was reading it before: a reader that
 * paused it or listened for 'readable' would otherwise leave it unread, the client's bytes would
 * pile up, and the close would become the reset this is here to avoid (as Node's own `_dump` does).
 */
function discardTheRest(request: IncomingMessage): void {
  request.unpipe();
  request.removeAllListeners('data');
  request.removeAllListeners('readable');
  request.on('data', discard);
  request.resume();
}

/** Detaches the HTTP parser from the socket (Node's server does so when a 'data' listener is added) and drops what arrives. */
function stopParsing(socket: Socket): void {
  if (socket.destroyed) return;
  socket.removeAllListeners('data');
  socket.on('data', discard);
  socket.resume();
}
