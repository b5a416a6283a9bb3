// A restore and the offsite replica (attack review of 7 December 2026). A restore copies every blob from the
// replica into the new primary store under a NEW id; the replica holds them under the old ones. The restored
// versions kept the backup's "replicated" mark, so the lag gauges said the replica held everything while it held
// none of the ids the vault now names, and a backup taken since named only ids the replica did not have: the
// next loss of the primary restored nothing. Now each restored version waits for the replica (counted by the
// gauges) and its `replicate` job is queued, so the worker copies it across. On SQLite and PostgreSQL.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { takeBackup } from '../../src/backup.js';
import { restoreBackup } from '../../src/backup-restore.js';
import { useClamd } from '../support/fixture.js';
import { useRestoreWorkspace } from '../support/restore-workspace.js';
import { api } from '../support/http.js';
import { closeKeepingData, openVaultAt } from '../support/vault-dir.js';
import { createOrganisation, DIALECTS, upload } from '../support/vault.js';
import { png } from '../support/samples.js';
import { drainJobs } from '../search/support.js';

const clamd = useClamd();

const silent = pino({ level: 'silent' });

describe.each(DIALECTS)('a restore and the offsite replica on %s', (dialect) => {
  const w = useRestoreWorkspace(dialect, clamd, 'restore-replica');
  const { newDatabase, envFor, configFor } = w;

  /** The primary (data directory and database) lost; the replica and offsite folder kept; restored from `backup`. */
  async function loseThePrimaryAndRestore(masterKeyFile: string, backup: string) {
    await rm(w.dataDir, { recursive: true, force: true });
    await mkdir(path.join(w.dataDir, 'keys'), { recursive: true, mode: 0o700 });
    await copyFile(masterKeyFile, path.join(w.dataDir, 'keys', 'master.key'));
    const db = await newDatabase();
    // No --blobs-from: the blobs come from the configured replica, as after a real disaster.
    const result = await restoreBackup(configFor(db), { from: backup, logger: silent });
    return { result, db };
  }

  it('forgets the thumbnails no store kept and renders them again, instead of answering every page that shows one 500 "damaged"', { timeout: 120_000 }, async () => {
    w.offsite = path.join(w.work, 'offsite-thumbnails');
    const live = await newDatabase();
    let v = await openVaultAt(w.dataDir, clamd.socketPath, envFor(live));
    const org = await createOrganisation(v.vault);
    const user = await org.user({ teams: ['payroll'] });
    const doc = (await upload(v.app, user, org.collections.payroll!, 'rota.png', png())).json() as { id: string };
    await drainJobs(v.vault);
    expect((await api(v.app, user).get(`documents/${doc.id}/thumbnail`)).statusCode).toBe(200);
    const backup = path.join(w.work, 'backup-thumbnails');
    await takeBackup(v.vault, backup);
    const masterKeyFile = path.join(w.work, 'master-thumbnails.key');
    await copyFile(path.join(w.dataDir, 'keys', 'master.key'), masterKeyFile);
    await closeKeepingData(v);

    const restored = await loseThePrimaryAndRestore(masterKeyFile, backup);
    v = await openVaultAt(w.dataDir, clamd.socketPath, envFor(restored.db));
    try {
      // The thumbnail lived in the lost primary store alone: until it is rendered again there is none.
      const before = await api(v.app, user).get(`documents/${doc.id}/thumbnail`);
      expect(before.statusCode).toBe(404);
      await drainJobs(v.vault);
      const after = await api(v.app, user).get(`documents/${doc.id}/thumbnail`);
      expect(after.statusCode).toBe(200);
      expect(after.headers['content-type']).toBe('image/png');
      // No repair was asked for a copy that was never damaged.
      expect(await v.vault.store.db.selectFrom('jobs').select('kind').where('kind', '=', 'scrub').execute()).toEqual([]);
    } finally {
      await closeKeepingData(v);
      await rm(w.dataDir, { recursive: true, force: true });
      await mkdir(w.dataDir);
    }
  });

  it('counts every restored version as waiting for the replica and copies it there, so a second loss of the primary restores everything', { timeout: 120_000 }, async () => {
    w.offsite = path.join(w.work, 'offsite-replica');
    const live = await newDatabase();
    let v = await openVaultAt(w.dataDir, clamd.socketPath, envFor(live));
    const org = await createOrganisation(v.vault);
    const user = await org.user({ teams: ['payroll'] });
    const bodies = new Map<string, Buffer>();
    for (const [name, body] of [['a.csv', Buffer.from('a,b\n1,2\n')], ['big.bin', Buffer.alloc(150_000, 9)]] as const) {
      const res = await upload(v.app, user, org.collections.payroll!, name, body);
      expect(res.statusCode, res.body).toBe(201);
      bodies.set((res.json() as { id: string }).id, body);
    }
    await v.vault.worker.runDue();
    expect(await v.vault.replication.health()).toMatchObject({ enabled: true, pending: 0 });
    const first = path.join(w.work, 'backup-1');
    await takeBackup(v.vault, first);
    const masterKeyFile = path.join(w.work, 'master.key');
    await copyFile(path.join(w.dataDir, 'keys', 'master.key'), masterKeyFile);
    await closeKeepingData(v);

    const restored = await loseThePrimaryAndRestore(masterKeyFile, first);
    expect(restored.result).toMatchObject({ copied: 2, shredded: 0, missing: [] });
    v = await openVaultAt(w.dataDir, clamd.socketPath, envFor(restored.db));
    // The replica holds the restored versions' bytes only under the ids they had before: until they are
    // copied under the ids the vault names now, the gauges say so.
    expect(await v.vault.replication.health()).toMatchObject({ pending: 2 });
    await v.vault.worker.runDue();
    expect(await v.vault.replication.health()).toMatchObject({ pending: 0 });
    const versions = await v.vault.store.db.selectFrom('versions').select('blob_id').execute();
    expect(versions).toHaveLength(2);
    for (const { blob_id } of versions) expect(await v.vault.replicaStore!.size(blob_id)).toBeGreaterThan(0);

    // The restored vault's own backup, then the primary lost again: everything comes back from the replica.
    const second = path.join(w.work, 'backup-2');
    await takeBackup(v.vault, second);
    await closeKeepingData(v);
    const again = await loseThePrimaryAndRestore(masterKeyFile, second);
    expect(again.result).toMatchObject({ copied: 2, shredded: 0, missing: [] });
    v = await openVaultAt(w.dataDir, clamd.socketPath, envFor(again.db));
    try {
      for (const [id, body] of bodies) {
        const res = await api(v.app, user).get(`documents/${id}/content`);
        expect(res.statusCode).toBe(200);
        expect(Buffer.compare(res.rawPayload, body)).toBe(0);
      }
    } finally {
      await closeKeepingData(v);
    }
  });
});
