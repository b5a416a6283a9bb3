// An address nothing serves: a GOV.UK page for browsers, problem+json for API and WebDAV clients.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { openTestVault, type TestVault } from '../support/vault.js';

let clamd: TestClamd;
let t: TestVault;
beforeAll(async () => {
  clamd = await startTestClamd();
  t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath });
});
afterAll(async () => {
  await t?.close();
  await clamd?.stop();
});

it('shows browsers a GOV.UK "Page not found" page', async () => {
  const res = await t.app.inject({ method: 'GET', url: '/nonsense/here', headers: { accept: 'text/html,application/xhtml+xml' } });
  expect(res.statusCode).toBe(404);
  expect(res.headers['content-type']).toContain('text/html');
  expect(res.body).toContain('Page not found');
  expect(res.body).toContain('govuk-generic-header');
});

it('keeps problem+json for the API, and for clients that do not ask for HTML', async () => {
  for (const [url, accept] of [['/api/v1/nothing', 'text/html'], ['/nonsense', 'application/json']]) {
    const res = await t.app.inject({ method: 'GET', url, headers: { accept } });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
  }
});
