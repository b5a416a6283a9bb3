// Group commit under a crash: a real server is SIGKILLed while 200 small uploads and 100 downloads
// are in flight at once. Every acknowledged upload (201) is there afterwards, byte-identical, and every
// acknowledged request (upload or download) has its audit event in the log, found by its request id.
// A SIGKILL loses what the process held, not what the kernel held: power loss is the held-sync test's
// (durable-responses.int.test.ts), which shows no answer leaves before the write-ahead log is synced.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { openVault } from '../../src/main.js';
import { listeningPort, seedWithCli, spawnCli } from '../support/cli.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { createMigratedDatabase, type TestDatabase } from '../support/postgres.js';
import { DIALECTS } from '../support/vault.js';
import { streamedUpload } from '../support/streamed-upload.js';
import type { Clock } from '../../src/domain/ports.js';
import { removeDataDir } from '../support/vault-dir.js';

let clamd: TestClamd;
const children: ChildProcess[] = [];
beforeAll(async () => {
  clamd = await startTestClamd();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await clamd?.stop();
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Outcome {
  status: number | 'error';
  requestId?: string;
  id?: string;
  sha?: string;
}

/** One request whose whole answer was received, or 'error' when the connection broke first. */
async function send(url: string, init: RequestInit, read: (res: Response, body: Buffer) => Partial<Outcome>): Promise<Outcome> {
  try {
    const res = await fetch(url, init);
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, requestId: res.headers.get('x-request-id') ?? undefined, ...read(res, body) };
  } catch {
    return { status: 'error' };
  }
}

describe.each(DIALECTS)('SIGKILL during 200 concurrent small uploads on %s', (dialect) => {
  let dataDir: string;
  let database: TestDatabase | null = null;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'sr-groupcommit-crash-'));
    database = dialect === 'postgres' ? await createMigratedDatabase('srgccrash') : null;
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await database?.drop();
    if (dataDir) await removeDataDir(dataDir);
  });

  it('loses no acknowledged upload and leaves every audit event of an acknowledged request in the log', { timeout: 300_000 }, async () => {
    const env = {
      STRONGROOM_CLAMD: clamd.socketPath, STRONGROOM_LOG_LEVEL: 'warn',
      STRONGROOM_UPLOAD_IDLE_SECONDS: '120',
      STRONGROOM_UPLOADS_PER_ACCOUNT: '256', STRONGROOM_UPLOADS_PER_CLIENT: '256', STRONGROOM_UPLOADS_PER_ORGANISATION: '256', STRONGROOM_UPLOADS_TOTAL: '256',
      ...(database ? { STRONGROOM_DATABASE_URL: database.url } : {}),
    };
    const seeded = await seedWithCli(dataDir, env, 'gc-shire');
    const server = spawnCli(['--data', dataDir, 'serve', '--port', '0'], { env });
    children.push(server);
    const port = await listeningPort(server);
    const base = `http://127.0.0.1:${port}`;
    const authorization = `Bearer ${seeded.token}`;

    const uploadOne = (name: string, body: Buffer) => send(
      `${base}/api/v1/collections/${seeded.collectionId}/documents?name=${name}`,
      { method: 'POST', headers: { authorization, 'content-type': 'application/octet-stream' }, body },
      (res, answer) => (res.status === 201 ? { id: (JSON.parse(answer.toString()) as { id: string }).id, sha: sha256(body) } : {}),
    );
    const seed = randomBytes(4096);
    const first = await uploadOne('read-me.bin', seed);
    expect(first.status).toBe(201);

    const bodies = Array.from({ length: 200 }, () => randomBytes(4096));
    // Group commit answers many uploads at once, so all 200 could be acknowledged before the kill: 20
    // more send the first half of their body and then wait past the kill, so some are certainly in flight.
    const held = Array.from({ length: 20 }, (_, i) => streamedUpload(port, seeded.token, seeded.collectionId, `held-${String(i).padStart(2, '0')}.bin`, randomBytes(128 * 1024), () => 25_000))
      .map((p) => p.then((o): Outcome => ({ status: o.status, ...(o.id ? { id: o.id, sha: o.sha } : {}) })));
    const uploads = [...bodies.map((body, i) => uploadOne(`small-${String(i).padStart(3, '0')}.bin`, body)), ...held];
    const downloads = Array.from({ length: 100 }, () => send(`${base}/api/v1/documents/${first.id}/content`, { headers: { authorization } }, (_res, body) => ({ sha: sha256(body) })));

    // Kill once about a third of the uploads are acknowledged, or after 5 s once at least one is.
    let acknowledged = 0;
    let waited = false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        waited = true;
        if (acknowledged > 0) resolve();
      }, 5000);
      for (const u of uploads) {
        void u.then((o) => {
          if (o.status !== 201) return;
          acknowledged++;
          if (acknowledged >= 66 || waited) {
            clearTimeout(timer);
            resolve();
          }
        });
      }
    });
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await exited;
    const uploaded = await Promise.all(uploads);
    const downloaded = await Promise.all(downloads);

    const ok = uploaded.filter((o) => o.status === 201);
    const cut = uploaded.filter((o) => o.status !== 201);
    expect(ok.length, 'some uploads were acknowledged before the kill').toBeGreaterThan(0);
    expect(cut.length, 'some uploads were still in flight at the kill').toBeGreaterThan(0);
    expect(cut.every((o) => o.status === 'error'), JSON.stringify(cut.map((o) => o.status))).toBe(true);
    const read = downloaded.filter((o) => o.status === 200);
    for (const d of read) expect(d.sha).toBe(sha256(seed));

    // Opened in this process on the dead server's data directory (SQLite recovers its log here).
    // Its clock is ten minutes on, so the dead server's job leases have lapsed: uploads past the
    // scanner's share were acknowledged as pending_scan, and their scan jobs run here first.
    const later: Clock = { now: () => new Date(Date.now() + 10 * 60_000) };
    const vault = await openVault(loadConfig({ env: { ...env, STRONGROOM_DATA: dataDir, STRONGROOM_LOG_LEVEL: 'silent' } }), { logger: pino({ level: 'silent' }), clock: later });
    const app = await buildApp(vault);
    try {
      while ((await vault.worker.runDue()) > 0);
      for (const o of ok) {
        const res = await app.inject({ method: 'GET', url: `/api/v1/documents/${o.id}/content`, headers: { authorization } });
        expect(res.statusCode, o.id).toBe(200);
        expect(sha256(res.rawPayload), o.id).toBe(o.sha);
      }
      const events = async (action: string, requestIds: string[]) => {
        const rows = await vault.store.db.selectFrom('audit_events').select(['request_id', 'document_id'])
          .where('action', '=', action).where('request_id', 'in', requestIds).execute();
        return new Map(rows.map((r) => [r.request_id, r.document_id]));
      };
      const uploadEvents = await events('document.upload', ok.map((o) => o.requestId!));
      for (const o of ok) expect(uploadEvents.get(o.requestId!), `upload event of ${o.id}`).toBe(o.id);
      if (read.length > 0) {
        const downloadEvents = await events('document.download', read.map((o) => o.requestId!));
        for (const d of read) expect(downloadEvents.get(d.requestId!), `download event of request ${d.requestId}`).toBe(first.id);
      }
    } finally {
      await app.close();
      await vault.close();
    }
  });
});
