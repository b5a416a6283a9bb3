// Disaster recovery: documents written, a backup taken, the primary data (database and blob folder)
// wiped, only the backup, the replica folder and the offsite checkpoints left. Restore brings every
// acknowledged document back byte-identical and `audit verify` passes; restoring an OLDER backup is
// caught by `audit verify` as a rollback; the restore drill's signed report verifies offline and
// fails when edited; a restore into a non-empty target is refused. On SQLite and PostgreSQL.
import { cp, copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeBackup } from '../../src/backup.js';
import { restoreBackup } from '../../src/backup-restore.js';
import { DATABASE_FILE } from '../../src/backup-open.js';
import { RESTORE_MARKER } from '../../src/compose/restore-marker.js';
import { checkDrillReport, restoreDrill } from '../../src/backup-restore-drill.js';
import { loadConfig } from '../../src/config/config.js';
import { systemActor } from '../../src/services/identity.service.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { pathsSynced } from '../support/fsync-watch.js';
import { runCli } from '../support/cli.js';
import { api } from '../support/http.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { closeKeepingData, openVaultAt } from '../support/vault-dir.js';
import { createOrganisation, DIALECTS, upload } from '../support/vault.js';

let clamd: TestClamd;
beforeAll(async () => {
  clamd = await startTestClamd();
});
afterAll(async () => {
  await clamd?.stop();
});

const silent = pino({ level: 'silent' });

describe.each(DIALECTS)('backup, restore and the restore drill on %s', (dialect) => {
  let work: string;
  let dataDir: string;
  const databases: TestDatabase[] = [];
  const newDatabase = async () => {
    const db = await createTestDatabase('srbk');
    databases.push(db);
    return db;
  };
  const envFor = (db: TestDatabase | null): Record<string, string> => (db ? { STRONGROOM_DATABASE_URL: db.url } : {});
  const configFor = (dir: string, db: TestDatabase | null) => loadConfig({ env: { STRONGROOM_DATA: dir, STRONGROOM_CLAMD: clamd.socketPath, STRONGROOM_LOG_LEVEL: 'silent', STRONGROOM_OFFSITE: `${dataDir}-offsite`, ...envFor(db) } });

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'sr-backup-test-'));
    dataDir = path.join(work, 'data');
    await mkdir(dataDir);
  });
  afterAll(async () => {
    for (const db of databases) await db.drop();
    await rm(work, { recursive: true, force: true });
    await rm(`${dataDir}-offsite`, { recursive: true, force: true });
  });

  it('restores every acknowledged document byte-identical, detects a rollback to an older backup, and signs the drill report', { timeout: 120_000 }, async () => {
    const live = dialect === 'postgres' ? await newDatabase() : null;
    const env = { ...envFor(live), STRONGROOM_OFFSITE: `${dataDir}-offsite` };
    let v = await openVaultAt(dataDir, clamd.socketPath, env);
    const org = await createOrganisation(v.vault);
    const user = await org.user({ teams: ['payroll'] });
    const bodies = new Map<string, Buffer>();
    const put = async (name: string, body: Buffer) => {
      const res = await upload(v.app, user, org.collections.payroll!, name, body);
      expect(res.statusCode).toBe(201);
      bodies.set((res.json() as { id: string }).id, body);
    };
    await put('a.csv', Buffer.from('a,b\n1,2\n'));
    await put('big.bin', Buffer.alloc(200_000, 7)); // several 64 KiB chunks
    const older = path.join(work, 'backup-older');
    const olderManifest = await takeBackup(v.vault, older);
    expect(olderManifest).toMatchObject({ dialect, blobs: { referenced: 2, shredded: 0 } });

    await put('c.txt', Buffer.from('written after the first backup\n'));
    const newer = path.join(work, 'backup-newer');
    let manifest!: Awaited<ReturnType<typeof takeBackup>>;
    const backupSyncs = await pathsSynced(async () => {
      manifest = await takeBackup(v.vault, newer);
    });
    // Each part is flushed with the folder that names it, and the manifest, which says the backup is
    // complete, only after all of them.
    const databasePart = dialect === 'sqlite' ? 'database.sqlite' : 'database.jsonl';
    expect(backupSyncs.filter((p) => p.startsWith(newer))).toEqual(['keys.json', 'blobs.jsonl', databasePart, 'manifest.note'].flatMap((n) => [path.join(newer, n), newer]));
    expect(manifest.blobs.referenced).toBe(3);
    expect(manifest.tables.documents).toBe(3);
    expect(manifest.audit.checkpoint).toContain(`\n${manifest.audit.treeSize}\n`);
    // A second backup into the same place is refused, not mixed in.
    await expect(takeBackup(v.vault, newer)).rejects.toThrow(/already holds files/);

    // Nothing of the database or the keys is readable in the backup without the master key.
    const files = await Promise.all(['keys.json', 'blobs.jsonl', dialect === 'sqlite' ? 'database.sqlite' : 'database.jsonl'].map((n) => readFile(path.join(newer, n))));
    for (const file of files) {
      expect(file.includes('audit-signing')).toBe(false);
      expect(file.includes(org.slug)).toBe(false);
    }

    // The replica: the helper's replicate job is not on this branch, so the blob folder copied aside stands for it.
    const replica = path.join(work, 'replica');
    await cp(path.join(dataDir, 'blobs'), replica, { recursive: true });
    const masterKeyFile = path.join(work, 'master.key');
    await copyFile(path.join(dataDir, 'keys', 'master.key'), masterKeyFile);
    await closeKeepingData(v);

    // Disaster: the data directory (database, blobs, keys) and the database are gone.
    await rm(dataDir, { recursive: true, force: true });
    const restoredDb = dialect === 'postgres' ? await newDatabase() : null;
    await mkdir(path.join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    await copyFile(masterKeyFile, path.join(dataDir, 'keys', 'master.key'));
    let result!: Awaited<ReturnType<typeof restoreBackup>>;
    const restoreSyncs = await pathsSynced(async () => {
      result = await restoreBackup(configFor(dataDir, restoredDb), { from: newer, blobsFrom: replica, logger: silent });
    });
    expect(result).toMatchObject({ copied: 3, shredded: 0, missing: [] });
    // Finished: the marker that keeps a vault from being opened on a half-restored data directory is gone.
    expect(await readdir(dataDir)).not.toContain(RESTORE_MARKER);
    // The keys and the database restored are flushed with their folders first (what the restore then
    // records, its own checkpoint among it, follows).
    const keys = path.join(dataDir, 'keys');
    const restored = [
      // First the restore's marker (staged, then renamed into place) that it has not finished; its lock
      // is the kernel's, and nothing of it needs flushing.
      dataDir, dataDir,
      path.join(keys, 'audit-signing.key'), keys, path.join(keys, 'audit-last-checkpoint.note'), keys,
      ...(dialect === 'sqlite' ? [path.join(dataDir, DATABASE_FILE), dataDir] : []),
    ];
    expect(restoreSyncs.filter((p) => p === keys || p.startsWith(`${keys}/`) || p === path.join(dataDir, DATABASE_FILE) || p === dataDir).slice(0, restored.length)).toEqual(restored);

    v = await openVaultAt(dataDir, clamd.socketPath, { ...envFor(restoredDb), STRONGROOM_OFFSITE: `${dataDir}-offsite` });
    for (const [id, body] of bodies) {
      const res = await api(v.app, user).get(`documents/${id}/content`);
      expect(res.statusCode).toBe(200);
      expect(Buffer.compare(res.rawPayload, body)).toBe(0);
    }
    await v.vault.audit.sequencer.flush();
    const verified = await v.vault.audit.verification.verify(systemActor());
    expect(verified, JSON.stringify(verified)).toMatchObject({ ok: true, offsite: 'matched' });

    // Restore into a target that is not empty: refused, nothing changed.
    await expect(restoreBackup(configFor(dataDir, restoredDb), { from: newer, blobsFrom: replica, logger: silent })).rejects.toThrow(/Refusing to restore into .*: the data directory is not empty/);
    if (dialect === 'postgres') {
      const other = path.join(work, 'other-data');
      await mkdir(path.join(other, 'keys'), { recursive: true });
      await copyFile(masterKeyFile, path.join(other, 'keys', 'master.key'));
      await expect(restoreBackup(configFor(other, restoredDb), { from: newer, blobsFrom: replica, logger: silent })).rejects.toThrow(/the database is not empty/);
    }

    // The restore drill: scratch restore, sample read from the replica, signed report in the live log.
    const signed = await restoreDrill(v.vault, { from: newer, replica, sample: 10, logger: silent });
    expect(signed.report).toMatchObject({ sampleSize: 3, totals: { ok: 3, shredded: 0, missing: 0, corrupt: 0 }, passed: true, backup: { id: manifest.id } });
    expect(signed.report.audit.ok).toBe(true);
    const verifier = v.vault.audit.proofs.verifierKey;
    expect(checkDrillReport(signed, verifier).backup.id).toBe(manifest.id);
    const events = await v.vault.store.db.selectFrom('audit_events').select('action').where('action', 'in', ['storage.backup', 'storage.restore', 'storage.restore_drill']).execute();
    expect(events.map((e) => e.action).sort()).toEqual(['storage.backup', 'storage.backup', 'storage.restore', 'storage.restore_drill']);

    // Offline: the report verifies with the public key, and fails when one byte is edited.
    const reportFile = path.join(work, 'drill.json');
    await writeFile(reportFile, `${JSON.stringify(signed, null, 1)}\n`);
    const good = await runCli(['restore-drill', 'check', reportFile, '--key', verifier]);
    expect(good.stderr).toContain('Report verified');
    expect(good.code).toBe(0);
    const text = await readFile(reportFile, 'utf8');
    await writeFile(reportFile, text.replace('"ok": 3', '"ok": 4'));
    const edited = await runCli(['restore-drill', 'check', reportFile, '--key', verifier]);
    expect(edited.code).toBe(1);
    expect(edited.stderr).toContain('Report FAILED verification');
    const forgedNote = { ...signed, signedNote: signed.signedNote.replace('"passed":true', '"passed":fals') };
    expect(() => checkDrillReport(forgedNote, verifier)).toThrow();
    await closeKeepingData(v);

    // Rollback: restoring the OLDER backup is caught by audit verify against the offsite checkpoints.
    await rm(dataDir, { recursive: true, force: true });
    const rolledBackDb = dialect === 'postgres' ? await newDatabase() : null;
    await mkdir(path.join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    await copyFile(masterKeyFile, path.join(dataDir, 'keys', 'master.key'));
    const back = await restoreBackup(configFor(dataDir, rolledBackDb), { from: older, blobsFrom: replica, logger: silent });
    expect(back).toMatchObject({ copied: 2, missing: [] });
    v = await openVaultAt(dataDir, clamd.socketPath, { ...envFor(rolledBackDb), STRONGROOM_OFFSITE: `${dataDir}-offsite` });
    try {
      const rolled = await v.vault.audit.verification.verify(systemActor());
      expect(rolled.ok, JSON.stringify(rolled)).toBe(false);
      // The rolled-back log is the older backup's events, then the restore's claim of its new blob folder
      // (`storage.claim`) and `storage.restore`: as many as the newer backup's signed checkpoint covers,
      // which it does not extend, so the earliest that may be bad is the first event after the older backup's.
      expect(manifest.audit.treeSize).toBe(olderManifest.audit.treeSize + 2);
      expect(rolled).toMatchObject({ ok: false, offsite: 'mismatch', firstBadSeq: olderManifest.audit.treeSize });
    } finally {
      await closeKeepingData(v);
    }
  });
});
