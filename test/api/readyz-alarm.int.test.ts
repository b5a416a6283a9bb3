// /readyz answers a load balancer whether the node can serve (the database), and stays 200 during an audit
// integrity alarm (events are still recorded; only signing stopped). Whether the alarm is raised is told only to
// whom /metrics answers (a scraper on loopback, or holding the scrape token when one is configured): until
// 8 December it was in every caller's answer, so anyone on the internet learnt that the audit log had failed an
// integrity check, and whoever rewrote it whether that was noticed (attack review of bulk and indirect disclosure).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, openTestVault, type TestVault } from '../support/vault.js';

const clamd = useClamd();

const TOKEN = 'scrape-token-0123456789abcdef0123456789';

/** What a stranger is told, alarm or not: ready, and the database's and the scanner's state, nothing of the audit log. */
const READY_TO_ANYONE = { status: 'ready', checks: { database: 'ok', scanner: 'ok' } };

/** What tampering does (test/audit/rewrite.int.test.ts): the stored tree loses the nodes the sequencer needs, whose next run raises the alarm. */
async function tamperWithTheLog(t: TestVault): Promise<void> {
  await createOrganisation(t.vault);
  await t.vault.audit.sequencer.flush();
  await t.vault.store.db.deleteFrom('audit_tree_nodes').execute();
  await createOrganisation(t.vault);
  await t.vault.audit.sequencer.flush();
  expect(t.vault.audit.alarm.alarmRaised).toBe(true);
}

describe.each(DIALECTS)('/readyz during an audit integrity alarm on %s, without a scrape token', (dialect) => {
  let t: TestVault;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('tells a scraper on loopback of the alarm, and anyone else (directly, or forwarded by a proxy on this host) only that the node is ready', async () => {
    const ready = (remoteAddress: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url: '/readyz', remoteAddress, headers });
    const loopback = await ready('127.0.0.1');
    expect(loopback.statusCode).toBe(200);
    expect(loopback.json()).toEqual({ status: 'ready', checks: { database: 'ok', scanner: 'ok', audit: 'ok' } });

    await tamperWithTheLog(t);
    for (const remoteAddress of ['127.0.0.1', '::1']) {
      const scraper = await ready(remoteAddress);
      expect(scraper.statusCode).toBe(200);
      expect(scraper.json()).toEqual({ status: 'ready', checks: { database: 'ok', scanner: 'ok', audit: 'alarm' } });
    }
    for (const [remoteAddress, headers] of [['203.0.113.5', {}], ['10.0.0.8', {}], ['127.0.0.1', { 'x-forwarded-for': '203.0.113.6' }], ['127.0.0.1', { forwarded: 'for=203.0.113.6' }]] as const) {
      const stranger = await ready(remoteAddress, headers);
      expect(stranger.statusCode).toBe(200);
      expect(stranger.json()).toEqual(READY_TO_ANYONE);
    }
  });
});

describe('/readyz during an audit integrity alarm, with a scrape token configured', () => {
  let t: TestVault;
  beforeAll(async () => {
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, env: { STRONGROOM_METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('tells of the alarm only a caller holding the token, from any address', async () => {
    await tamperWithTheLog(t);
    for (const remoteAddress of ['203.0.113.5', '127.0.0.1']) {
      const withToken = await t.app.inject({ method: 'GET', url: '/readyz', remoteAddress, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(withToken.statusCode).toBe(200);
      expect(withToken.json()).toEqual({ status: 'ready', checks: { database: 'ok', scanner: 'ok', audit: 'alarm' } });
      for (const headers of [{}, { authorization: `Bearer ${TOKEN}x` }]) {
        const without = await t.app.inject({ method: 'GET', url: '/readyz', remoteAddress, headers });
        expect(without.statusCode).toBe(200);
        expect(without.json()).toEqual(READY_TO_ANYONE);
      }
    }
  });
});
