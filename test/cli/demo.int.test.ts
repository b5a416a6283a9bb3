// `strongroom demo`: the token it prints belongs to someone who can see documents, and every curl
// example it prints answers 200 with something in it: the folders, and a folder's documents. A
// second run (the demo is idempotent) prints working examples too. Once the worker has run, every seeded
// document is extracted and the printed search example finds them.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { seedDemo } from '../../src/cli/demo-data.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { DIALECTS, openTestVault, type TestVault } from '../support/vault.js';

let clamd: TestClamd;
beforeAll(async () => {
  clamd = await startTestClamd();
});
afterAll(async () => {
  await clamd?.stop();
});

/** Runs seedDemo and returns what it printed (the CLI prints to stderr). */
async function seed(t: TestVault): Promise<string> {
  let printed = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed += chunk.toString();
    return true;
  });
  try {
    await seedDemo(t.vault, t.vault.config);
  } finally {
    spy.mockRestore();
  }
  return printed;
}

describe.each(DIALECTS)('the demo on %s', (dialect) => {
  let t: TestVault;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('prints curl examples that list folders and documents with its token, on the first run and the next', { timeout: 120_000 }, async () => {
    for (const run of ['first', 'second']) {
      const printed = await seed(t);
      expect(printed, run).not.toMatch(/not stored/);
      const examples = [...printed.matchAll(/curl -H "Authorization: Bearer (\S+)" http:\/\/[^/\s]+(\/api\/v1\/\S+)/g)].map((m) => ({ token: m[1]!, url: m[2]! }));
      expect(examples.map((e) => e.url.replace(/[0-9a-f-]{36}/, '{id}')), run).toEqual(['/api/v1/collections', '/api/v1/collections/{id}']);
      const [list, folder] = await Promise.all(examples.map((e) => t.app.inject({ method: 'GET', url: e.url, headers: { authorization: `Bearer ${e.token}` } })));
      expect(list!.statusCode, run).toBe(200);
      expect(list!.json().collections.map((c: { name: string }) => c.name), run).toContain('Payroll');
      expect(folder!.statusCode, run).toBe(200);
      const documents = folder!.json().documents as Array<{ name: string; status: string }>;
      expect(documents.map((d) => [d.name, d.status]), run).toEqual([['pay-run-summary-2026-11.csv', 'available']]);
    }
  });

  it('its documents are extracted once the worker runs, and its search example finds them (one through the payroll arrangement)', { timeout: 120_000 }, async () => {
    const printed = await seed(t);
    for (let round = 0; round < 50 && (await t.vault.worker.runDue()) > 0; round++);
    const versions = await t.vault.store.db.selectFrom('versions').select(['text_status', 'text_reason']).execute();
    expect(versions.length).toBe(6);
    expect(versions.map((v) => [v.text_status, v.text_reason])).toEqual(Array(6).fill(['done', null]));
    const [example] = [...printed.matchAll(/curl -H "Authorization: Bearer (\S+)" 'http:\/\/[^/\s]+(\/api\/v1\/search\?[^'\s]+)'/g)].map((m) => ({ token: m[1]!, url: m[2]! }));
    expect(example?.url).toBe('/api/v1/search?q=gross');
    const res = await t.app.inject({ method: 'GET', url: example!.url, headers: { authorization: `Bearer ${example!.token}` } });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { total: number; hits: Array<{ name: string; organisation: { name: string }; snippet: { text: string } }> };
    expect(body.total).toBe(2);
    expect(body.hits.map((h) => [h.name, h.organisation.name]).sort()).toEqual([['pay-run-summary-2026-11.csv', 'North Shire Council'], ['payslips-2026-10.csv', 'Riverside Borough Council']]);
    for (const hit of body.hits) expect(hit.snippet.text).toContain('gross');
  });

  it('has an open subject access request at Fenmarsh that Riverside’s DPO is asked to search for, seeded once', async () => {
    await seed(t);
    const dpo = await t.vault.identity.userByEmail('dpo@riverside.example.gov.uk');
    const actor = { kind: 'user' as const, userId: dpo.id, organisationId: dpo.organisationId, roles: dpo.roles, teams: dpo.teams, clearance: dpo.clearance, channel: 'api' as const, clientAddress: null, requestId: null };
    const asked = await t.vault.subjectAccess.views.list(actor);
    expect(asked.map((s) => [s.role, s.request.reference, s.requester.name, s.request.status])).toEqual([['partner', 'FDC-SAR-0042', 'Fenmarsh District Council', 'open']]);
  });
});
