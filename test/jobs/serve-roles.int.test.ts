// `strongroom serve --role`, run as a real process: the worker role answers health and nothing
// else; the web role serves the API; an unknown role is refused before anything starts. And the
// warning `serve` gives while passwords are hashed at the test suites' weak cost.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningPort, runCli, spawnCli } from '../support/cli.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { DIALECTS } from '../support/vault.js';
import { removeDataDir } from '../support/vault-dir.js';

let clamd: TestClamd;
beforeAll(async () => {
  clamd = await startTestClamd();
});
afterAll(async () => {
  await clamd?.stop();
});

/** Stops a server with SIGTERM and waits for it to exit. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

describe.each(DIALECTS)('serve --role on %s', (dialect) => {
  let dataDir: string;
  let database: TestDatabase | null = null;
  let env: Record<string, string>;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'sr-serve-roles-'));
    database = dialect === 'postgres' ? await createTestDatabase('srserve') : null;
    env = { STRONGROOM_CLAMD: clamd.socketPath, STRONGROOM_LOG_LEVEL: 'warn', ...(database ? { STRONGROOM_DATABASE_URL: database.url } : {}) };
    const init = await runCli(['--data', dataDir, 'init'], { env });
    expect(init.code, init.stderr).toBe(0);
  });
  afterAll(async () => {
    await database?.drop();
    if (dataDir) await removeDataDir(dataDir);
  });

  it('serves only health and metrics in the worker role, and the API in the web role', async () => {
    // The run's processes hash passwords cheaply (test/support/password-hashing.ts): the worker warns of
    // it at start, the web node at the standard cost says nothing of it. Likewise the worker, started
    // without bin/strongroom's allocator settings, says so; the web node, given them, does not.
    const withoutAllocator = { MALLOC_ARENA_MAX: undefined, MALLOC_MMAP_THRESHOLD_: undefined, MALLOC_TRIM_THRESHOLD_: undefined };
    const worker = spawnCli(['--data', dataDir, 'serve', '--port', '0', '--role', 'worker'], { env: { ...env, ...withoutAllocator } });
    const web = spawnCli(['--data', dataDir, 'serve', '--port', '0'], {
      env: { ...env, STRONGROOM_ROLE: 'web', STRONGROOM_PASSWORD_HASHING: 'standard', MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '4194304', MALLOC_TRIM_THRESHOLD_: '16777216' },
    });
    let workerSaid = '';
    let webSaid = '';
    worker.stderr?.on('data', (d: Buffer) => (workerSaid += d.toString()));
    web.stderr?.on('data', (d: Buffer) => (webSaid += d.toString()));
    try {
      const [workerPort, webPort] = await Promise.all([listeningPort(worker), listeningPort(web)]);
      expect(workerSaid).toContain('(worker role: runs jobs; serves health and metrics only)');
      expect(webSaid).toContain('(web role: runs no jobs)');
      expect(workerSaid).toContain('Warning: STRONGROOM_PASSWORD_HASHING=test-only-weak: passwords set from now on are hashed cheaply');
      expect(webSaid).not.toContain('STRONGROOM_PASSWORD_HASHING');
      expect(workerSaid).toContain('Note: MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ are not set');
      expect(webSaid).not.toContain('MALLOC_');

      expect((await fetch(`http://127.0.0.1:${workerPort}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${workerPort}/readyz`)).status).toBe(200);
      const api = await fetch(`http://127.0.0.1:${workerPort}/api/v1/collections`);
      expect(api.status).toBe(404);
      expect(api.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect((await fetch(`http://127.0.0.1:${workerPort}/dav/`)).status).toBe(404);

      expect((await fetch(`http://127.0.0.1:${webPort}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${webPort}/api/v1/collections`)).status).toBe(401);
    } finally {
      await Promise.all([stop(worker), stop(web)]);
    }
  });

  it('refuses an unknown role, naming the variable', async () => {
    const result = await runCli(['--data', dataDir, 'serve', '--port', '0', '--role', 'scheduler'], { env, timeoutMs: 30_000 });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/STRONGROOM_ROLE: /);
  });
});
