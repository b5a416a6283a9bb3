// RFC 4918 conformance: the litmus suites (basic, copymove, props, locks, http) against a live server,
// on both dialects, signed in with an app password. Every suite must report 0 failed.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { DIALECTS } from '../support/vault.js';
import { createOrganisation, davUser, openDavServer, type DavServer, type DavUser } from './support.js';

const run = promisify(execFile);
const SUITES = ['basic', 'copymove', 'props', 'locks', 'http'] as const;

const clamd = useClamd();

export interface LitmusSummary {
  suite: string;
  run: number;
  passed: number;
  failed: number;
  warnings: number;
  failures: string[];
}

/** Reads "<- summary for `basic': of 16 tests run: 16 passed, 0 failed. 100.0%" and the FAIL lines. */
export function parseLitmus(output: string): LitmusSummary[] {
  const out: LitmusSummary[] = [];
  const re = /<- summary for `([^']+)': of (\d+) tests run: (\d+) passed, (\d+) failed/g;
  for (const m of output.matchAll(re)) out.push({ suite: m[1]!, run: Number(m[2]), passed: Number(m[3]), failed: Number(m[4]), warnings: 0, failures: [] });
  for (const line of output.split('\n')) {
    if (/\bFAIL\b/.test(line) && out.length > 0) out[out.length - 1]!.failures.push(line.trim());
  }
  const warned = /-> (\d+) warnings? (?:was|were) issued/.exec(output);
  if (warned && out.length > 0) out[out.length - 1]!.warnings = Number(warned[1]);
  return out;
}

describe.each(DIALECTS)('litmus on %s', (dialect) => {
  let s: DavServer;
  let user: DavUser;
  let url: string;
  let workDir: string;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    user = await davUser(s.vault, org, { teams: ['finance'] });
    url = `${s.base}/dav/${org.slug}/finance/`;
    workDir = await mkdtemp(path.join(tmpdir(), 'sr-litmus-'));
  });
  afterAll(async () => {
    await s?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it.each(SUITES)('%s: 0 failed, 0 warnings', async (suite) => {
    const { stdout } = await run('litmus', [url, user.email, user.appPassword], {
      cwd: workDir, env: { ...process.env, TESTS: suite }, timeout: 120_000, maxBuffer: 8 * 1024 * 1024,
    }).catch((error: { stdout?: string; stderr?: string }) => ({ stdout: `${error.stdout ?? ''}\n${error.stderr ?? ''}` }));
    const [summary] = parseLitmus(stdout);
    expect(summary, stdout).toBeDefined();
    expect(summary!.suite).toBe(suite);
    expect(summary!.failures, stdout).toEqual([]);
    expect(summary!.failed, stdout).toBe(0);
    expect(summary!.passed, stdout).toBe(summary!.run);
    expect(summary!.warnings, stdout).toBe(0);
  });
});
