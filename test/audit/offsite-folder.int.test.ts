// Where the offsite checkpoints live: by default beside the data directory, and a warning at
// start-up when an operator points them inside the data directory they are meant to protect.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';

let clamd: TestClamd;
let parent: string;
beforeAll(async () => {
  clamd = await startTestClamd();
  parent = await mkdtemp(path.join(tmpdir(), 'sr-offsite-'));
});
afterAll(async () => {
  await clamd?.stop();
  await rm(parent, { recursive: true, force: true });
});

const WARNING = 'the offsite folder is inside the data directory it protects';

describe('the offsite folder at start-up', () => {
  it('warns when STRONGROOM_OFFSITE is inside the data directory', async () => {
    const data = path.join(parent, 'inside');
    const r = await runCli(['--data', data, 'init'], { env: { STRONGROOM_CLAMD: clamd.socketPath, STRONGROOM_OFFSITE: path.join(data, 'offsite') } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(WARNING);
  });

  it('stays quiet by default, and the first checkpoint lands beside the data directory', async () => {
    const data = path.join(parent, 'vault');
    const env = { STRONGROOM_CLAMD: clamd.socketPath };
    const r = await runCli(['--data', data, 'init'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain(WARNING);
    const org = await runCli(['--data', data, 'org', 'add', '--slug', 'offsite-test', '--name', 'Offsite Test', '--region', 'Test'], { env });
    expect(org.code, org.stderr).toBe(0);
    expect((await readdir(path.join(parent, 'vault-offsite', 'audit-checkpoints'))).filter((n) => n.endsWith('.note')).length).toBeGreaterThan(0);
    expect(await readdir(data)).not.toContain('offsite');
  });
});
