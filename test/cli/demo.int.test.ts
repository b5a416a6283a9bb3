// `strongroom demo`: the token it prints belongs to someone who can see documents, and every curl
// example it prints answers 200 with something in it: the folders, and a folder's documents. A
// second run (the demo is idempotent) prints working examples too.
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
});
