// Process roles over one database: a web-role process serves uploads and runs no jobs; the scan job
// its upload queued (through the version.committed hook, in the upload's transaction) is run by a
// worker-role process, which serves only health and metrics. Start-up refuses an unhandled kind.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rescanJob } from '../../src/domain/jobs/kinds.js';
import { buildHealthApp } from '../../src/http/health-app.js';
import { UnhandledJobKindsError } from '../../src/jobs/worker.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { DIALECTS, auth, createOrganisation, openTestVault, upload, type TestVault } from '../support/vault.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let clamd: TestClamd;
beforeAll(async () => {
  clamd = await startTestClamd();
});
afterAll(async () => {
  await clamd?.stop();
});

describe.each(DIALECTS)('process roles on %s', (dialect) => {
  let dataDir: string;
  let database: TestDatabase | null = null;
  let web: TestVault;
  let worker: TestVault;
  beforeAll(async () => {
    // Two processes of one installation: the same data directory (keys, blobs) and the same database.
    dataDir = await mkdtemp(path.join(tmpdir(), 'sr-roles-'));
    database = dialect === 'postgres' ? await createTestDatabase('srroles') : null;
    const shared = {
      STRONGROOM_INLINE_SCAN_MAX_BYTES: '64', // larger uploads are answered first and scanned by the job
      STRONGROOM_AUDIT_CHECKPOINT_SECONDS: '3600',
      ...(database ? { STRONGROOM_DATABASE_URL: database.url } : {}),
    };
    web = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, dataDir, env: { ...shared, STRONGROOM_ROLE: 'web' } });
    worker = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, dataDir, env: { ...shared, STRONGROOM_ROLE: 'worker' } });
  });
  afterAll(async () => {
    // The worker first: each close removes the shared offsite folder, and only the worker writes
    // there (replicas, checkpoints), so closing the web role first raced the worker's copies.
    await worker?.close();
    await web?.close();
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const jobRows = (kind: string) => web.vault.store.db.selectFrom('jobs').selectAll().where('kind', '=', kind).orderBy('id').execute();

  it('refuses to start the worker role while an unhandled kind is queued', async () => {
    const now = new Date().toISOString();
    await web.vault.store.db.insertInto('jobs').values({ kind: 'test-from-the-future', payload: '{}', run_at: now, attempts: 0, max_attempts: 3, status: 'queued', created_at: now, unique_key: null }).execute();
    const refusal = await worker.vault.startBackground().then(() => null, (error: unknown) => error);
    expect(refusal).toBeInstanceOf(UnhandledJobKindsError);
    expect((refusal as Error).message).toContain('test-from-the-future');
    expect(worker.vault.worker.started).toBe(false);
    await web.vault.store.db.updateTable('jobs').set({ status: 'failed' }).where('kind', '=', 'test-from-the-future').execute();
  });

  it('runs the scan an upload to the web role queued only in the worker role', async () => {
    // The web role starts no background work at all.
    await web.vault.startBackground();
    expect(web.vault.worker.started).toBe(false);

    const org = await createOrganisation(web.vault);
    const member = await org.user({ teams: ['finance'] });
    const body = `Budget line ${randomBytes(8).toString('hex')}\n`.repeat(20);
    const stored = await upload(web.app, member, org.collections.finance!, 'budget.txt', body);
    expect(stored.statusCode, stored.body).toBe(201);
    const id = stored.json().id as string;
    const versionId = stored.json().currentVersion?.id ?? (await web.vault.store.repos.documents.byId(id))!.currentVersionId;
    expect(stored.json().status).toBe('pending_scan');

    // The hook queued exactly one scan for the version, in the upload's transaction.
    const queued = (await jobRows('scan-version')).filter((r) => JSON.parse(r.payload).versionId === versionId);
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ status: 'queued', attempts: 0, unique_key: `scan-version:${versionId}` });

    await sleep(1500);
    expect((await jobRows('scan-version')).find((r) => r.id === queued[0]!.id)).toMatchObject({ status: 'queued', attempts: 0 });
    expect((await web.app.inject({ method: 'GET', url: `/api/v1/documents/${id}`, headers: auth(member) })).json().status).toBe('pending_scan');

    await worker.vault.startBackground();
    expect(worker.vault.worker.started).toBe(true);
    const deadline = Date.now() + 20_000;
    let status = 'pending_scan';
    while (Date.now() < deadline && status === 'pending_scan') {
      await sleep(200);
      status = (await web.app.inject({ method: 'GET', url: `/api/v1/documents/${id}`, headers: auth(member) })).json().status as string;
    }
    expect(status).toBe('available');
    expect((await jobRows('scan-version')).find((r) => r.id === queued[0]!.id)).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('queues one rescan when both processes notice the same signature update', async () => {
    const now = new Date();
    const since = new Date(now.getTime() - 86_400_000).toISOString();
    await worker.vault.worker.stop();
    expect(await web.vault.store.repos.jobs.enqueue(rescanJob, { since, signatures: 'ClamAV 1/2/3' }, { now, organisationId: null })).toBe(true);
    expect(await worker.vault.store.repos.jobs.enqueue(rescanJob, { since, signatures: 'ClamAV 1/2/3' }, { now, organisationId: null })).toBe(false);
    expect((await jobRows('rescan')).filter((r) => r.status === 'queued')).toHaveLength(1);
  });

  it('serves only health and metrics in the worker role', async () => {
    const app = await buildHealthApp(worker.vault);
    try {
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      const api = await app.inject({ method: 'GET', url: '/api/v1/collections' });
      expect(api.statusCode).toBe(404);
      expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect((await app.inject({ method: 'GET', url: '/dav/' })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: '/' })).statusCode).toBe(404);
      // Its answers wear the web role's headers: a 404 that names the address asked for (here with markup in
      // it) is never sniffed, framed, run or cached (attack review of the web surface, 7 December).
      for (const url of ['/healthz', '/readyz', '/.well-known/strongroom-audit-key', '/%3Cscript%3Ealert(1)%3C/script%3E']) {
        const answer = await app.inject({ method: 'GET', url, headers: { accept: 'text/html' } });
        expect(answer.headers['x-content-type-options'], url).toBe('nosniff');
        expect(answer.headers['content-security-policy'], url).toContain("default-src 'self'; script-src 'self'");
        expect(answer.headers['content-security-policy'], url).toContain("frame-ancestors 'none'");
        expect(answer.headers['x-frame-options'], url).toBe('DENY');
        expect(answer.headers['cache-control'], url).toBe('no-store');
      }
    } finally {
      await app.close();
    }
  });
});
