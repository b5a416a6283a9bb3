// A refusal the router makes before any route or hook runs (an address that cannot be percent-decoded) is an
// answer of this origin like any other, and it names the address it was sent: until the attack review of the
// web surface (7 December) it went out without the security headers every other answer wears (no CSP, no
// nosniff, no frame refusal, no Cache-Control, no request id), because Fastify answers such a request outside
// the hooks that add them. Over a real connection: inject() would not show the difference.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHealthApp } from '../../src/http/health-app.js';
import { useClamd } from '../support/fixture.js';
import { openTestVault, type TestVault } from '../support/vault.js';

const clamd = useClamd();

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

function get(port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'GET', path, headers: { accept: 'text/html' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function expectGuarded(answer: Answer, path: string) {
  expect(answer.status, path).toBe(400);
  expect(answer.headers['content-type'], path).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(answer.body), path).toMatchObject({ status: 400, title: 'Bad request' });
  expect(answer.headers['x-content-type-options'], path).toBe('nosniff');
  expect(answer.headers['content-security-policy'], path).toContain("default-src 'self'; script-src 'self'");
  expect(answer.headers['content-security-policy'], path).toContain("frame-ancestors 'none'");
  expect(answer.headers['x-frame-options'], path).toBe('DENY');
  expect(answer.headers['referrer-policy'], path).toBe('no-referrer');
  expect(answer.headers['cache-control'], path).toBe('no-store');
  expect(answer.headers['x-request-id'], path).toBe(JSON.parse(answer.body).requestId);
}

// Markup in an address that cannot be decoded: the refusal quotes the address.
const UNDECODABLE = ['/%E0%A4%A<svg/onload=alert(1)>', '/documents/%E0%A4%A', '/api/v1/documents/%ZZ', '/dav/%E0%A4%A', '/scim/v2/Users/%E0%A4%A'];

describe('a refusal by the router', () => {
  let t: TestVault;
  beforeAll(async () => {
    // The router answers before any database question: the same on either dialect.
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, listen: true });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('wears every security header, in the web role', async () => {
    const address = t.app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    for (const path of UNDECODABLE) expectGuarded(await get(port, path), path);
  });

  it('and in the worker role', async () => {
    const app = await buildHealthApp(t.vault);
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      for (const path of UNDECODABLE) expectGuarded(await get(port, path), path);
    } finally {
      await app.close();
    }
  });
});
