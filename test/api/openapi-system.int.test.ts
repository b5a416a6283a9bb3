// The service's public surface: OpenAPI document (the REST API only), health and readiness, metrics
// (counting every interface's requests, and the job queue's dead letters) and the audit key.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob } from '../../src/domain/jobs/define-job.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS } from '../support/vault.js';
import { systemActor } from '../../src/services/identity.service.js';

const clamd = useClamd();

describe.each(DIALECTS)('OpenAPI and system endpoints on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('serves a valid OpenAPI document describing the document and collection paths', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = JSON.parse(res.body) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const [p, method] of [
      ['/api/v1/collections/{id}/documents', 'post'],
      ['/api/v1/collections/{id}', 'get'],
      ['/api/v1/collections', 'post'],
      ['/api/v1/documents/{id}', 'get'],
      ['/api/v1/documents/{id}', 'patch'],
      ['/api/v1/documents/{id}', 'delete'],
      ['/api/v1/documents/{id}/content', 'get'],
      ['/api/v1/documents/{id}/content', 'put'],
      ['/api/v1/documents/{id}/restore', 'post'],
      ['/api/v1/arrangements', 'post'],
      ['/api/v1/audit/events', 'get'],
      ['/api/v1/collections/{id}/retention-events', 'get'],
      ['/api/v1/documents/{id}/retention-events', 'get'],
    ] as const) {
      expect(doc.paths[p], p).toBeDefined();
      expect(doc.paths[p]![method], `${method.toUpperCase()} ${p}`).toBeDefined();
    }
  });

  it('describes the REST API only: no web pages, no WebDAV, nothing outside /api/v1', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as { paths: Record<string, unknown> };
    const paths = Object.keys(doc.paths);
    expect(paths.length).toBeGreaterThan(20);
    expect(paths.filter((p) => !p.startsWith('/api/v1/'))).toEqual([]);
    for (const absent of ['/', '/sign-in', '/documents/{id}', '/dav', '/dav/{*}', '/healthz', '/metrics']) expect(doc.paths[absent], absent).toBeUndefined();
  });

  it('counts every request in /metrics, whichever interface answers it: REST API, web page and WebDAV', async () => {
    const counted = async (): Promise<(method: string, status: number) => number> => {
      const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      return (method, status) => Number(new RegExp(`^strongroom_http_requests_total\\{method="${method}",status="${status}"\\} (\\d+)$`, 'm').exec(body)?.[1] ?? 0);
    };
    const before = await counted();
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/collections' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/collections' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/sign-in', headers: { accept: 'text/html' } })).statusCode).toBe(200);
    for (let i = 0; i < 3; i++) expect((await t.app.inject({ method: 'PROPFIND' as 'GET', url: '/dav/', headers: { depth: '0' } })).statusCode).toBe(401);
    const after = await counted();
    expect(after('GET', 401) - before('GET', 401)).toBe(2); // the API requests
    expect(after('PROPFIND', 401) - before('PROPFIND', 401)).toBe(3); // WebDAV
    expect(after('GET', 200) - before('GET', 200)).toBe(2); // the web page, and the first /metrics scrape
  });

  it('answers /healthz, /readyz, /metrics and the audit key', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok', scanner: 'ok' } });
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('strongroom_http_requests_total');
    expect(metrics.body).toMatch(/strongroom_http_requests_total\{method="GET",status="200"\} \d+/);
    const key = await t.app.inject({ method: 'GET', url: '/.well-known/strongroom-audit-key' });
    expect(key.statusCode).toBe(200);
    expect(key.headers['content-type']).toMatch(/^text\/plain/);
    // A signed-note verifier key: name+hash+base64 key, and the one the audit log signs with.
    expect(key.body.trim()).toMatch(/^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/);
    expect(key.body.trim()).toBe(t.vault.audit.proofs.verifierKey);
  });

  it('reports the cluster\'s failed and queued jobs in /metrics, read from the database at each scrape', async () => {
    const gauge = async (name: string): Promise<number> => {
      const res = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(res.body);
      expect(match, `${name} in\n${res.body}`).not.toBeNull();
      return Number(match![1]);
    };
    const before = { failed: await gauge('strongroom_jobs_failed'), queued: await gauge('strongroom_jobs_queued') };
    const job = defineJob<{ n: number }>({ kind: `metrics-${randomBytes(4).toString('hex')}`, payload: z.object({ n: z.number() }), maxAttempts: 1, backoffSeconds: 1, maxBackoffSeconds: 1 });
    const jobs = t.vault.store.repos.jobs;
    const now = new Date();
    for (const n of [1, 2, 3]) await jobs.enqueue(job, { n }, { now, organisationId: null });
    // One of the three runs out of attempts (as another process's worker would leave it): two stay queued.
    const [leased, ...others] = (await jobs.lease(job.lane, now.toISOString(), new Date(now.getTime() + 60_000).toISOString(), 100)).filter((j) => j.kind === job.kind);
    expect(others).toHaveLength(2);
    expect(await jobs.fail(leased!.id, leased!.attempts, now.toISOString(), 'boom')).toBe(true);
    for (const other of others) expect(await jobs.retry(other.id, other.attempts, now.toISOString(), 'again')).toBe(true);
    expect(await gauge('strongroom_jobs_failed')).toBe(before.failed + 1);
    expect(await gauge('strongroom_jobs_queued')).toBe(before.queued + 2);
    // Retrying the dead letter moves it from one gauge to the other.
    await t.vault.jobs.retry(systemActor(), leased!.id);
    expect(await gauge('strongroom_jobs_failed')).toBe(before.failed);
    expect(await gauge('strongroom_jobs_queued')).toBe(before.queued + 3);
  });
});
