// `strongroom search --as EMAIL "query"` over a vault an earlier process filled (and extracted): the
// person's own results, nothing for someone who may not read it, and a clear refusal of a bad page.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { runCli } from '../support/cli.js';
import { createOrganisation, openTestVault, upload } from '../support/vault.js';
import { canaryWord, drainJobs } from './support.js';
import { removeDataDir } from '../support/vault-dir.js';

const clamd = useClamd();

describe('strongroom search', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await removeDataDir(dir);
  });

  it('finds what the person may read (nothing for someone who may not), and refuses a bad page clearly', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'sr-search-cli-'));
    dirs.push(dataDir);
    const word = canaryWord();
    const t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, dataDir });
    const org = await createOrganisation(t.vault);
    const member = await org.user({ teams: ['finance'] });
    const outsider = await org.user({ teams: ['hr'] });
    const id = (await upload(t.app, member, org.collections.finance!, 'grant.txt', `Grant letter ${word}\n`)).json().id as string;
    await drainJobs(t.vault);
    await t.close();

    const env = { STRONGROOM_CLAMD: clamd.socketPath };
    const found = await runCli(['--data', dataDir, 'search', '--as', member.email, word], { env });
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout.trim().split('\t').slice(0, 3)).toEqual([id, `Test ${org.slug}`, 'grant.txt']);
    expect(found.stdout).toContain(word);

    const json = await runCli(['--data', dataDir, 'search', '--as', member.email, '--json', word], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({ total: 1, hits: [{ documentId: id }] });

    const hidden = await runCli(['--data', dataDir, 'search', '--as', outsider.email, word], { env });
    expect(hidden.code).toBe(0);
    expect(hidden.stdout).toBe('');
    expect(hidden.stderr).toContain('0 result(s)');

    const bad = await runCli(['--data', dataDir, 'search', '--as', member.email, '--page', '99', word], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('from 1 to 50');
    // Four CLI processes, each opening the vault: well past the default minute on a loaded machine.
  }, 180_000);
});
