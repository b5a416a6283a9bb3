// What the clamd scanner's two ways of talking to clamd share: reaching its socket, and the ways a
// conversation with it can end. A connection per stream (clamd.scanner.ts) and a kept session
// (clamd.kept-sessions.ts) both read every end that is not a reply as "no verdict".
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
