// /metrics tells an outsider how busy the service is and which errors it gives: loopback only by
// default, or anyone holding the scrape token when one is configured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { expectProblem } from '../support/http.js';
import { openTestVault, type TestVault } from '../support/vault.js';

const clamd = useClamd();

const TOKEN = 'scrape-token-0123456789abcdef0123456789';

describe('/metrics without a scrape token configured', () => {
  let t: TestVault;
  beforeAll(async () => {
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers the loopback address only; anyone else is told it does not exist (404)', async () => {
    for (const remoteAddress of ['127.0.0.1', '::1']) {
      const res = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('strongroom_http_requests_total');
    }
    for (const remoteAddress of ['203.0.113.5', '10.0.0.8', '::ffff:203.0.113.5']) {
      const res = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress });
      expectProblem(res, 404);
      expect(res.body).not.toContain('strongroom_');
    }
  });
});

describe('/metrics behind a TLS proxy that forwards client addresses', () => {
  let t: TestVault;
  beforeAll(async () => {
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, env: { STRONGROOM_TRUST_PROXY: '1' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('judges the forwarded client, not the proxy on loopback', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.6' } });
    expectProblem(res, 404);
  });

  it('is not reached by a client that writes a loopback address into X-Forwarded-For for the proxy to append to', async () => {
    // What the documented nginx ($proxy_add_x_forwarded_for) passes on for such a client.
    for (const forwardedFor of ['127.0.0.1, 203.0.113.6', '::1, 203.0.113.6', '127.0.0.1']) {
      const res = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': forwardedFor } });
      expectProblem(res, 404);
      expect(res.body).not.toContain('strongroom_');
    }
    expectProblem(await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1', headers: { forwarded: 'for=127.0.0.1' } }), 404);
    // A scraper connected straight to loopback, as the docs say to run it, still gets its answer.
    expect((await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
  });
});

describe('/metrics behind a proxy trusted for more hops than there are', () => {
  let t: TestVault;
  beforeAll(async () => {
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, env: { STRONGROOM_TRUST_PROXY: '3' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('still never takes a forwarded loopback address as the scraper', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '127.0.0.1, 127.0.0.1, 203.0.113.6' } });
    expectProblem(res, 404);
  });
});

describe('/metrics with a scrape token configured', () => {
  let t: TestVault;
  beforeAll(async () => {
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, env: { STRONGROOM_METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('needs the token from every address (401 without it or with a wrong one) and answers 200 with it', async () => {
    for (const remoteAddress of ['203.0.113.5', '127.0.0.1']) {
      const missing = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress });
      expectProblem(missing, 401);
      expect(missing.headers['www-authenticate']).toBe('Bearer realm="metrics"');
      expectProblem(await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress, headers: { authorization: `Bearer ${TOKEN}x` } }), 401);
      const ok = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toContain('strongroom_http_requests_total');
    }
  });
});
