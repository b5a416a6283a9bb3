// `strongroom scrub --sample 2 --rate 50`: checks a sample of versions on both copies from the
// command line, heals a damaged replica copy, prints a JSON summary; exit 2 when a version has no
// good copy left; bad arguments are refused before anything is read.
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultOffsiteDir } from '../../src/config/storage-settings.js';
import { runCli } from '../support/cli.js';
import { useClamd } from '../support/fixture.js';
import { closeKeepingData, openVaultAt, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('strongroom scrub on %s', (dialect) => {
  let place: SharedVaultPlace;
  let replicaDir: string;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-scrub-');
    replicaDir = await mkdtemp(path.join(tmpdir(), 'sr-replica-'));
  });
  afterAll(async () => {
    await place?.remove();
    await rm(replicaDir, { recursive: true, force: true });
    if (place) await rm(defaultOffsiteDir(place.dataDir), { recursive: true, force: true });
  });

  it('checks a sample of two, heals a damaged replica copy, and exits 2 when a version has no good copy', { timeout: 120_000 }, async () => {
    const env = { ...place.env, STRONGROOM_REPLICA: replicaDir };
    let v = await openVaultAt(place.dataDir, clamd.socketPath, env);
    const org = await createOrganisation(v.vault);
    const user = await org.user({ teams: ['payroll'] });
    const ids: string[] = [];
    for (const name of ['one.bin', 'two.bin']) {
      const res = await upload(v.app, user, org.collections.payroll!, name, randomBytes(5000));
      expect(res.statusCode, res.body).toBe(201);
      ids.push((res.json() as { id: string }).id);
    }
    await v.vault.worker.runDue();
    const version = (await v.vault.store.repos.documents.versionById((await v.vault.store.repos.documents.byId(ids[0]!))!.currentVersionId!))!;
    await closeKeepingData(v);
    const file = path.join(replicaDir, version.blobId.slice(0, 2), version.blobId);
    const handle = await open(file, 'r+');
    await handle.write(Buffer.from([0xff, 0xff]), 0, 2, 100);
    await handle.close();

    const run = await runCli(['--data', place.dataDir, 'scrub', '--sample', '2', '--rate', '50'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ checked: 2, findings: 1, repairs: 1, unrecoverable: 0, skipped: 0 });
    expect(run.stderr).toContain('Checked 2 version(s): 1 bad or missing copies found, 1 repaired');

    v = await openVaultAt(place.dataDir, clamd.socketPath, env);
    await v.vault.blobStore.delete(version.blobId);
    await v.vault.replicaStore!.delete(version.blobId);
    await closeKeepingData(v);
    const lost = await runCli(['--data', place.dataDir, 'scrub', '--all', '--rate', '50'], { env });
    expect(lost.code).toBe(2);
    expect(JSON.parse(lost.stdout)).toMatchObject({ checked: 2, unrecoverable: 1 });
    expect(lost.stderr).toContain('no good copy left');
  });

  it('refuses bad arguments before reading anything', async () => {
    const env = { ...place.env, STRONGROOM_REPLICA: replicaDir };
    const rate = await runCli(['--data', place.dataDir, 'scrub', '--rate', 'fast'], { env });
    expect(rate.code).not.toBe(0);
    expect(rate.stderr).toContain('expected a rate in MB/s greater than 0');
    const both = await runCli(['--data', place.dataDir, 'scrub', '--sample', '2', '--all'], { env });
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/cannot be used with option '--all'/);
    const zero = await runCli(['--data', place.dataDir, 'scrub', '--sample', '0'], { env });
    expect(zero.stderr).toContain('expected a whole number of at least 1');
  });
});
