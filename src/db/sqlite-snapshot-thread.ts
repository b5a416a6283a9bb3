// The snapshot's thread (started by sqlite-snapshot.ts): its own read-only connection to the encrypted
// database file makes one consistent copy of it (VACUUM INTO, encrypted with the same key) and ends. On the
// server's own connection the copy ran on the event loop: about 5 s a GB here, every request waiting.
import { parentPort, workerData } from 'node:worker_threads';
import { openEncryptedSqliteReader } from './sqlite-cipher.js';
import type { SnapshotReply, SnapshotSettings } from './sqlite-snapshot.js';
import { waitAtGate } from './thread-test-gate.js';

const settings = workerData as SnapshotSettings;
const port = parentPort!;

try {
  const database = openEncryptedSqliteReader(settings.file, Buffer.from(settings.key));
  try {
    database.pragma(`busy_timeout = ${settings.busyTimeoutMs}`);
    // The copy is written through a schema that takes this connection's cache size, so the two together
    // hold at most twice this much.
    database.pragma(`cache_size = ${-Math.trunc(settings.cacheMib) * 1024}`);
    waitAtGate(settings.gate);
    database.prepare('vacuum into ?').run(settings.into);
  } finally {
    database.close();
  }
  port.postMessage({ kind: 'done' } satisfies SnapshotReply);
} catch (error) {
  const code = (error as { code?: unknown } | null)?.code;
  port.postMessage({ kind: 'failed', error: { message: error instanceof Error ? error.message : String(error), ...(typeof code === 'string' ? { code } : {}) } } satisfies SnapshotReply);
}
