// Closing a connection whose request body was refused part-way (too large, disk full, malware in a
// stream), without losing the refusal. Node's HTTP server, answering with `Connection: close`, sends
// its FIN and destroys the socket at once; the client is usually still sending, and bytes arriving
// at a closed socket make the kernel answer with a reset, which on the client throws away the
// response it had not yet read. It sees "connection reset" (EPIPE or ECONNRESET) instead of "413:
// the file is over the 64 MiB limit". RFC 9112 §9.6 gives the cure servers such as Apache and nginx
// use, a lingering close: close only the sending side, keep reading and discarding what the client
// still sends, and close fully when it stops (its FIN, its body's end, a quiet spell or a time cap).
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export interface LingerLimits {
  /** Close once the client has sent nothing for this long (nginx's lingering_timeout). */
  quietMs: number;
  /** Close at the latest this long after the response (nginx's lingering_time). */
  totalMs: number;
}

export const DEFAULT_LINGER: LingerLimits = { quietMs: 5_000, totalMs: 30_000 };

const lingering = new WeakSet<Socket>();

/**
 * Makes the close that follows this request's response a lingering one. Call it before the response
 * is sent, for a request whose body has not all arrived; the response must close the connection.
 */
export function lingerAfterResponse(request: IncomingMessage, limits: LingerLimits = DEFAULT_LINGER): void {
  const socket = request.socket;
  if (socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  // The server calls destroySoon once the last response has been handed to the socket.
  socket.destroySoon = function lingeringClose(this: Socket) {
    if (this.writable) this.end();
    const close = () => {
      clearTimeout(cap);
      this.destroy();
    };
    const cap = setTimeout(close, limits.totalMs);
    cap.unref();
    // The HTTP server refreshes this timer as the parser consumes bytes; on expiry it destroys the socket.
    this.setTimeout(limits.quietMs, close);
    this.once('end', close);
    this.once('close', () => clearTimeout(cap));
    // The rest of the body is read and discarded by the HTTP parser; once it has all come, nothing more is owed.
    if (request.complete) close();
    else request.once('end', close);
  };
  // Whatever still arrives belongs to the refused body: read it, so the parser reaches its end.
  request.resume();
}

/**
 * Whether this connection is closing after a refused body. A request pipelined behind that body
 * must not be served: its answer could never be sent, so its effects would be unseen by the client.
 */
export function isLingering(socket: Socket | null | undefined): boolean {
  return socket !== null && socket !== undefined && lingering.has(socket);
}
