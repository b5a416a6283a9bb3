// What a connection's idle timeout (Fastify's connectionTimeout, STRONGROOM_CONNECTION_IDLE_SECONDS)
// closes: a connection on which the client owes the next move, because it stopped reading an answer
// being sent or stayed silent between requests. Not one whose request the server is still working on
// before answering (an upload waiting on a busy clamd, a long copy, a slow database): the silence is
// then ours, and cutting it would lose the answer while the work still completes. A body the client
// owes has its own deadlines (slow-body-guard.ts). Node closes a timed-out connection itself only when
// nothing listens for 'timeout', so this listener decides.
import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export function closeIdleConnectionsOf(server: Server): void {
  server.on('timeout', (socket: Socket) => {
    // Node's own link from a connection to the answer it is sending (or will send next).
    const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (response && !response.headersSent) return; // still being worked on: any write later re-arms the timer
    socket.destroy();
  });
}
