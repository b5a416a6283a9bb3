// A restore brings the database back as it was at the backup: a version a rescan found infected after
// the backup is back marked clean, and if a security admin destroyed it meanwhile, its key comes back
// from the backup and its bytes from a replica that keeps what it was given (a write-once bucket).
// The restore queues a rescan reaching back as far as any rescan since the backup could have, with the
// signatures clamd has now: the rescan at start-up, from the day of the restore, would leave out what
// has grown older than the rescan window since. On SQLite and PostgreSQL.
import { randomBytes } from 'node:crypto';
import { appendFile, copyFile, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeBackup } from '../../src/backup.js';
import { restoreBackup } from '../../src/backup-restore.js';
import { loadConfig } from '../../src/config/config.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { api } from '../support/http.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { closeKeepingData, openVaultAt } from '../support/vault-dir.js';
import { createOrganisation, DIALECTS, settableClock, upload } from '../support/vault.js';

let signatures: string;
let clamd: TestClamd;
beforeAll(async () => {
  signatures = await mkdtemp(path.join(tmpdir(), 'sr-sigs-'));
  await copyFile(path.resolve('assets/clamav/strongroom.ndb'), path.join(signatures, 'strongroom.ndb'));
  clamd = await startTestClamd({ signaturesDir: signatures });
});
afterAll(async () => {
  await clamd?.stop();
  await rm(signatures, { recursive: true, force: true });
});

const silent = pino({ level: 'silent' });
const DAY = 86_400_000;

async function addSignature(name: string, marker: string): Promise<void> {
  await appendFile(path.join(signatures, 'strongroom.ndb'), `${name}:0:*:${Buffer.from(marker).toString('hex')}\n`);
  await clamd.supervisor.reloadDatabases();
  const scanner = clamd.scanner();
  for (let i = 0; i < 100; i++) {
    if ((await scanner.scan(Readable.from([Buffer.from(marker)]))).outcome === 'infected') return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`clamd never detected ${name}`);
}

describe.each(DIALECTS)('a restore and what rescans found after the backup, on %s', (dialect) => {
  let work: string;
  const databases: TestDatabase[] = [];
  const newDatabase = async () => {
    const db = await createTestDatabase('srrr');
    databases.push(db);
    return db;
  };
  const envFor = (db: TestDatabase | null): Record<string, string> => (db ? { STRONGROOM_DATABASE_URL: db.url } : {});
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'sr-restore-rescan-'));
  });
  afterAll(async () => {
    for (const db of databases) await db.drop();
    await rm(work, { recursive: true, force: true });
  });

  it('quarantines again, from the rescan the restore queued, a version found infected and destroyed after the backup', { timeout: 120_000 }, async () => {
    const dataDir = path.join(work, 'data');
    await mkdir(dataDir);
    const offsite = { STRONGROOM_OFFSITE: `${dataDir}-offsite` };
    const live = dialect === 'postgres' ? await newDatabase() : null;
    let v = await openVaultAt(dataDir, clamd.socketPath, { ...envFor(live), ...offsite });
    const org = await createOrganisation(v.vault);
    const user = await org.user({ teams: ['payroll'] });
    const admin = await org.user({ roles: ['security_admin'] });
    const marker = `found-after-the-backup-${randomBytes(12).toString('hex')}`;
    const stored = await upload(v.app, user, org.collections.payroll!, 'letter.txt', `Dear resident\n${marker}\n`);
    expect(stored.statusCode, stored.body).toBe(201);
    const id = stored.json().id as string;
    expect(await v.vault.quarantine.checkSignatureVersion()).toBe(false); // the baseline, kept in the backup

    const backupDir = path.join(work, 'backup');
    await takeBackup(v.vault, backupDir);
    // The replica keeps what it was given (a write-once bucket refuses the delete of destroyed blobs).
    const replica = path.join(work, 'replica');
    await cp(path.join(dataDir, 'blobs'), replica, { recursive: true });

    // After the backup: a new signature, the rescan quarantines the letter, a security admin destroys it.
    await addSignature('Strongroom.Test.AfterBackup', marker);
    await v.vault.store.repos.settings.set('scanner.signature-version', 'before-the-update');
    expect(await v.vault.quarantine.checkSignatureVersion()).toBe(true);
    await v.vault.worker.runDue();
    expect((await api(v.app, user).get(`documents/${id}`)).json().status).toBe('quarantined');
    const item = ((await api(v.app, admin).get('quarantine')).json().items as { versionId: string; document: { id: string } | null }[]).find((i) => i.document?.id === id);
    expect((await api(v.app, admin).post(`quarantine/${item!.versionId}/destroy`, {})).statusCode).toBe(204);

    // Disaster, and the restore of that backup.
    const masterKey = path.join(work, 'master.key');
    await copyFile(path.join(dataDir, 'keys', 'master.key'), masterKey);
    await closeKeepingData(v);
    await rm(dataDir, { recursive: true, force: true });
    await mkdir(path.join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    await copyFile(masterKey, path.join(dataDir, 'keys', 'master.key'));
    const restoredDb = dialect === 'postgres' ? await newDatabase() : null;
    const config = loadConfig({ env: { STRONGROOM_DATA: dataDir, STRONGROOM_CLAMD: clamd.socketPath, STRONGROOM_LOG_LEVEL: 'silent', ...offsite, ...envFor(restoredDb) } });
    expect(await restoreBackup(config, { from: backupDir, blobsFrom: replica, logger: silent })).toMatchObject({ copied: 1, missing: [] });

    // Served again 35 days after the backup: the start-up check rescans the last 30 days from today only.
    const later = settableClock(new Date(Date.now() + 35 * DAY).toISOString());
    v = await openVaultAt(dataDir, clamd.socketPath, { ...envFor(restoredDb), ...offsite }, { clock: later });
    try {
      // The signatures moved on since the backup (an external clamd's VERSION does not name our own
      // .ndb, so the vault is told): the start-up check rescans the last 30 days, from today.
      await v.vault.store.repos.settings.set('scanner.signature-version', 'at-the-backup');
      expect(await v.vault.quarantine.checkSignatureVersion()).toBe(true);
      await v.vault.worker.runDue();
      expect((await api(v.app, user).get(`documents/${id}`)).json().status).toBe('quarantined');
      const download = await api(v.app, user).get(`documents/${id}/content`);
      expect(download.statusCode).toBe(423);
      expect(download.body).not.toContain(marker);
    } finally {
      await closeKeepingData(v);
      await rm(`${dataDir}-offsite`, { recursive: true, force: true });
    }
  });
});
