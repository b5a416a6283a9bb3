// The service's public surface: OpenAPI document, health and readiness, metrics and the audit key.
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS } from '../support/vault.js';

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
    ] as const) {
      expect(doc.paths[p], p).toBeDefined();
      expect(doc.paths[p]![method], `${method.toUpperCase()} ${p}`).toBeDefined();
    }
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
    expect(key.body.trim()).toBe(t.vault.audit.verifierKey);
  });
});
