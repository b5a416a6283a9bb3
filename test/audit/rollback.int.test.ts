// Rollback: restoring the SQLite database files from an earlier moment is caught, because the
// offsite checkpoint written since is ahead of the restored log; the signer will not sign the
// restored log however far it grows.
import { copyFile, mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultOffsiteDir } from '../../src/config/storage-settings.js';
import { systemActor } from '../../src/services/identity.service.js';
import { api, filesUnder } from '../support/http.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { closeKeepingData, openVaultAt } from '../support/vault-dir.js';
import { createOrganisation, upload } from '../support/vault.js';

let clamd: TestClamd;
let dataDir: string;
let saved: string;
beforeAll(async () => {
  clamd = await startTestClamd();
  dataDir = await mkdtemp(path.join(tmpdir(), 'sr-rollback-'));
  saved = await mkdtemp(path.join(tmpdir(), 'sr-rollback-copy-'));
});
afterAll(async () => {
  await clamd?.stop();
  await rm(dataDir, { recursive: true, force: true });
  await rm(defaultOffsiteDir(dataDir), { recursive: true, force: true });
  await rm(saved, { recursive: true, force: true });
});

const dbFiles = async (dir: string) => (await readdir(dir)).filter((n) => n.startsWith('strongroom.db'));

describe('audit rollback on sqlite', () => {
  it('fails verification when the database is restored behind the newest offsite checkpoint', async () => {
    let v = await openVaultAt(dataDir, clamd.socketPath);
    const org = await createOrganisation(v.vault);
    const user = await org.user({ teams: ['payroll'] });
    const first = (await upload(v.app, user, org.collections.payroll!, 'before.csv', 'a,b\n')).json();
    await v.vault.audit.sequencer.flush();
    const early = await v.vault.audit.verification.verify(systemActor());
    expect(early.ok).toBe(true);
    const earlySize = early.ok ? early.treeSize : -1;
    await closeKeepingData(v);
    for (const name of await dbFiles(dataDir)) await copyFile(path.join(dataDir, name), path.join(saved, name));

    // More work, sequenced and checkpointed (the checkpoint is also written offsite).
    v = await openVaultAt(dataDir, clamd.socketPath);
    await upload(v.app, user, org.collections.payroll!, 'after.csv', 'c,d\n');
    expect((await api(v.app, user).get(`documents/${first.id}/content`)).statusCode).toBe(200);
    await v.vault.audit.sequencer.flush();
    const later = await v.vault.audit.verification.verify(systemActor());
    expect(later).toMatchObject({ ok: true, offsite: 'matched' });
    expect(later.ok && later.treeSize).toBeGreaterThan(earlySize);
    // By default beside the data directory, so restoring the data directory does not restore it too.
    expect(v.vault.config.offsiteDir).toBe(`${dataDir}-offsite`);
    const offsiteNotes = async () => (await filesUnder(path.join(`${dataDir}-offsite`, 'audit-checkpoints'))).filter((f) => f.endsWith('.note')).sort();
    const offsite = await offsiteNotes();
    expect(offsite.map((f) => path.basename(f))).toContain(`${String(later.ok ? later.treeSize : 0).padStart(12, '0')}.note`);
    await closeKeepingData(v);

    // Restore the old database files (and drop any newer WAL/shm that the copy did not have).
    for (const name of await dbFiles(dataDir)) await unlink(path.join(dataDir, name));
    for (const name of await dbFiles(saved)) await copyFile(path.join(saved, name), path.join(dataDir, name));

    v = await openVaultAt(dataDir, clamd.socketPath);
    try {
      // The restored database is internally consistent: only the offsite copy betrays the rollback.
      expect(await v.vault.store.repos.audit.treeSize()).toBe(earlySize);
      const result = await v.vault.audit.verification.verify(systemActor());
      expect(result.ok, JSON.stringify(result)).toBe(false);
      expect(result).toMatchObject({ ok: false, firstBadSeq: earlySize, offsite: 'mismatch' });
    } finally {
      await closeKeepingData(v);
    }

    // The restored log grows past the newest offsite checkpoint: still never signed.
    v = await openVaultAt(dataDir, clamd.socketPath);
    try {
      const laterSize = later.ok ? later.treeSize : -1;
      const notes = await offsiteNotes();
      for (let i = 0; i < 3 && (await v.vault.store.repos.audit.treeSize()) <= laterSize; i++) {
        await upload(v.app, user, org.collections.payroll!, `again-${i}.csv`, 'e,f\n');
        expect((await api(v.app, user).get(`documents/${first.id}/content`)).statusCode).toBe(200);
        await v.vault.audit.sequencer.integrate();
      }
      await v.vault.audit.sequencer.flush();
      expect(await v.vault.store.repos.audit.treeSize()).toBeGreaterThan(laterSize);
      expect((await v.vault.store.repos.audit.latestCheckpoint())?.treeSize).toBe(earlySize);
      expect(await offsiteNotes()).toEqual(notes);
      expect(await v.vault.audit.alarm.integrityAlarm(systemActor())).toMatchObject({ source: 'signer' });
    } finally {
      await closeKeepingData(v);
    }
  });
});
