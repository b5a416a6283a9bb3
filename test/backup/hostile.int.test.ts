// Backups and restores that must not go through: an edited part or manifest, the wrong master key,
// a blob the replica lacks (reported, by document) or holds damaged (reported apart, never copied), a
// shredded version (counted as shredded, never as missing); and the command line end to end. On SQLite
// and PostgreSQL.
import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreBackup } from '../../src/backup-restore.js';
import { restoreDrill } from '../../src/backup-restore-drill.js';
import { loadConfig } from '../../src/config/config.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { blobFilesUnder } from '../support/blob-files.js';
import { runCli } from '../support/cli.js';
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

describe.each(DIALECTS)('hostile backups and restores on %s', (dialect) => {
  let work: string;
  const databases: TestDatabase[] = [];
  const newDatabase = async () => {
    if (dialect !== 'postgres') return null;
    const db = await createTestDatabase('srbh');
    databases.push(db);
    return db;
  };
  const offsite = () => path.join(work, 'offsite');
  const envFor = (db: TestDatabase | null): Record<string, string> => ({ STRONGROOM_OFFSITE: offsite(), ...(db ? { STRONGROOM_DATABASE_URL: db.url } : {}) });
  /** An empty data directory holding only the master key, as an operator prepares one. */
  const emptyTarget = async (masterKeyFile: string) => {
    const dir = path.join(work, `target-${randomBytes(3).toString('hex')}`);
    await mkdir(path.join(dir, 'keys'), { recursive: true, mode: 0o700 });
    await copyFile(masterKeyFile, path.join(dir, 'keys', 'master.key'));
    return dir;
  };
  const configFor = (dir: string, db: TestDatabase | null) => loadConfig({ env: { STRONGROOM_DATA: dir, STRONGROOM_CLAMD: clamd.socketPath, STRONGROOM_LOG_LEVEL: 'silent', ...envFor(db) } });

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'sr-backup-hostile-'));
  });
  afterAll(async () => {
    for (const db of databases) await db.drop();
    await rm(work, { recursive: true, force: true });
  });

  it('refuses edited backups and a wrong master key, reports a blob the replica lacks or holds damaged, and counts a shredded version as shredded', { timeout: 120_000 }, async () => {
    const dataDir = path.join(work, 'data');
    const live = await newDatabase();
    const v = await openVaultAt(dataDir, clamd.socketPath, envFor(live));
    const org = await createOrganisation(v.vault);
    const user = await org.user({ teams: ['payroll'] });
    const ids: string[] = [];
    for (const name of ['kept.txt', 'lost.txt', 'shredded.txt']) {
      const res = await upload(v.app, user, org.collections.payroll!, name, `${name} body\n`);
      expect(res.statusCode).toBe(201);
      ids.push((res.json() as { id: string }).id);
    }
    const [, lostId, shreddedId] = ids as [string, string, string];
    const versionOf = async (documentId: string) => (await v.vault.store.db.selectFrom('versions').select(['id', 'blob_id']).where('document_id', '=', documentId).executeTakeFirstOrThrow());
    const shredded = await versionOf(shreddedId);
    await v.vault.store.repos.documents.destroyVersionKey(shredded.id);

    // The backup by the command line, as an operator runs it.
    const backupDir = path.join(work, 'backup');
    const cli = await runCli(['backup', '--data', dataDir, '--out', backupDir], { env: { STRONGROOM_CLAMD: clamd.socketPath, ...envFor(live) } });
    expect(cli.stderr).toMatch(/Backup \S+ written to .*3 blobs referenced \(1 shredded\)/);
    expect(cli.code).toBe(0);

    const replica = path.join(work, 'replica');
    await cp(path.join(dataDir, 'blobs'), replica, { recursive: true });
    const lost = await versionOf(lostId);
    await unlink(path.join(replica, lost.blob_id.slice(0, 2), lost.blob_id));
    const masterKeyFile = path.join(dataDir, 'keys', 'master.key');

    // One byte flipped in the database part: refused before anything is written.
    const edited = path.join(work, 'edited');
    await cp(backupDir, edited, { recursive: true });
    const dbPart = path.join(edited, dialect === 'sqlite' ? 'database.sqlite' : 'database.jsonl');
    const bytes = await readFile(dbPart);
    const at = bytes.length >> 1;
    bytes[at] = bytes[at]! ^ 0x01;
    await writeFile(dbPart, bytes);
    let target = await emptyTarget(masterKeyFile);
    await expect(restoreBackup(configFor(target, await newDatabase()), { from: edited, blobsFrom: replica, logger: silent })).rejects.toThrow(/The backup part database\.\w+ does not match its manifest/);
    expect(await readdir(target)).toEqual(['keys']);

    // An edited manifest (a row count changed): its signature no longer verifies.
    const forged = path.join(work, 'forged');
    await cp(backupDir, forged, { recursive: true });
    const note = await readFile(path.join(forged, 'manifest.note'), 'utf8');
    await writeFile(path.join(forged, 'manifest.note'), note.replace('"documents":3', '"documents":2'));
    await expect(restoreBackup(configFor(target, await newDatabase()), { from: forged, blobsFrom: replica, logger: silent })).rejects.toThrow(/does not verify with the audit key/);
    expect(await readdir(target)).toEqual(['keys']);

    // Another vault's master key opens nothing.
    const wrongKey = path.join(work, 'wrong.key');
    await writeFile(wrongKey, randomBytes(32), { mode: 0o600 });
    const wrongTarget = await emptyTarget(wrongKey);
    await expect(restoreBackup(configFor(wrongTarget, await newDatabase()), { from: backupDir, blobsFrom: replica, logger: silent })).rejects.toThrow(/The master key does not open the backup/);

    // The drill reports the lost blob as missing and the shredded version as shredded: not passed.
    const signed = await restoreDrill(v.vault, { from: backupDir, replica, sample: 10, logger: silent });
    expect(signed.report.totals).toEqual({ ok: 1, shredded: 1, missing: 1, corrupt: 0 });
    expect(signed.report.passed).toBe(false);
    expect(signed.report.documents.find((d) => d.documentId === lostId)).toMatchObject({ result: 'missing' });
    expect(signed.report.documents.find((d) => d.documentId === shreddedId)).toMatchObject({ result: 'shredded' });

    // One byte flipped in the replica's copy of the kept document: reported corrupt, never read as good.
    const kept = await versionOf(ids[0]!);
    const keptFile = path.join(replica, kept.blob_id.slice(0, 2), kept.blob_id);
    const keptBytes = await readFile(keptFile);
    keptBytes[keptBytes.length - 20] = keptBytes[keptBytes.length - 20]! ^ 0x80;
    await writeFile(keptFile, keptBytes);
    const again = await restoreDrill(v.vault, { from: backupDir, replica, sample: 10, logger: silent });
    expect(again.report.totals).toEqual({ ok: 0, shredded: 1, missing: 1, corrupt: 1 });
    expect(again.report.documents.find((d) => d.documentId === ids[0])).toMatchObject({ result: 'corrupt', problem: expect.stringMatching(/authentication|integrity|tag/i) });
    // The same drill by the command line: the report is written, and the exit code says it failed.
    const reportFile = path.join(work, 'drill.json');
    const byCli = await runCli(['restore-drill', '--data', dataDir, '--from', backupDir, '--replica', replica, '--sample', '3', '--report', reportFile], { env: { STRONGROOM_CLAMD: clamd.socketPath, ...envFor(live) } });
    expect(byCli.stderr).toContain('0 documents byte-identical, 1 shredded, 1 missing, 1 corrupt; audit log verified');
    expect(byCli.code).toBe(1);
    expect(JSON.parse(await readFile(reportFile, 'utf8'))).toMatchObject({ report: { passed: false, sampleSize: 3 } });
    await closeKeepingData(v);

    // The restore by the command line: the lost blob is named as missing, and the kept document's flipped copy
    // as damaged, with nothing of it written to the new primary (until 7 December it was copied as it was, and
    // counted as copied); exit 2; the shredded one is not missing.
    target = await emptyTarget(masterKeyFile);
    const restoredDb = await newDatabase();
    const restored = await runCli(['restore', '--data', target, '--from', backupDir, '--blobs-from', replica], { env: { STRONGROOM_CLAMD: clamd.socketPath, ...envFor(restoredDb) } });
    expect(restored.stderr).toContain('0 blobs copied, 1 shredded (disposed), 1 missing, 1 damaged in the replica (not copied).');
    expect(restored.stderr).toContain(`missing: document ${lostId} version ${lost.id} (blob ${lost.blob_id})`);
    expect(restored.stderr).toContain(`damaged: document ${ids[0]} version ${kept.id} (blob ${kept.blob_id}): Encrypted blob chunk 0 failed authentication.`);
    expect(restored.stderr).toContain("A scrub of each is queued: when the vault next starts they are marked unrecoverable and their organisations' security admins are told.");
    expect(await blobFilesUnder(path.join(target, 'blobs'))).toBe(0);
    expect(restored.code).toBe(2);
    if (dialect === 'sqlite') {
      // A SQLite backup is not loaded into PostgreSQL (nor the other way round).
      const other = await emptyTarget(masterKeyFile);
      const pgTarget = await createTestDatabase('srbh');
      databases.push(pgTarget);
      await expect(restoreBackup(configFor(other, pgTarget), { from: backupDir, logger: silent })).rejects.toThrow(/This backup is of an embedded SQLite vault: restore it without --database-url/);
    }
  });
});
