// The scheduled backup (STRONGROOM_BACKUP=daily): queued from STRONGROOM_BACKUP_HOUR (UK time), taken
// once a UK day however many workers ask, written into the replica's backups/ shelf (a folder on
// SQLite, a bucket on PostgreSQL), the last STRONGROOM_BACKUP_KEEP kept; its time in /metrics and on
// the Storage page; and restore without --from takes the newest, which reads back byte-identical.
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreBackup } from '../../src/backup-restore.js';
import { newestBackup } from '../../src/backup-schedule.js';
import { loadConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { queueDailyBackup } from '../../src/compose/daily-jobs.js';
import { openVault, type Vault } from '../../src/main.js';
import { serverExtensions } from '../../src/server.js';
import { openBackupShelf } from '../../src/storage/backup-shelf.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { runCli } from '../support/cli.js';
import { api } from '../support/http.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { S3RVER_CREDENTIALS, startLoopbackS3, type LoopbackS3 } from '../support/s3.js';
import { createOrganisation, DIALECTS, settableClock, upload } from '../support/vault.js';

let clamd: TestClamd;
let s3: LoopbackS3;
const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  [clamd, s3] = await Promise.all([startTestClamd(), startLoopbackS3()]);
});
afterAll(async () => {
  await clamd?.stop();
  await s3?.stop();
  for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

const silent = pino({ level: 'silent' });

describe.each(DIALECTS)('the scheduled backup on %s', (dialect) => {
  let work: string;
  const databases: TestDatabase[] = [];
  const opened: Array<{ vault: Vault; app: FastifyInstance }> = [];
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'sr-scheduled-backup-'));
  });
  afterAll(async () => {
    for (const o of opened) {
      await o.app.close();
      await o.vault.close();
    }
    for (const db of databases) await db.drop();
    await rm(work, { recursive: true, force: true });
  });

  it('runs once a UK day across two workers, keeps the last N, and restore without --from takes the newest', { timeout: 40_000 }, async () => {
    const database = dialect === 'postgres' ? await createTestDatabase('srsb') : null;
    if (database) databases.push(database);
    // SQLite: a replica folder; PostgreSQL: a replica bucket.
    const replica = dialect === 'postgres' ? s3.blobsUrl(await s3.createBucket(), 'offsite') : path.join(work, 'replica');
    const env = {
      STRONGROOM_CLAMD: clamd.socketPath, STRONGROOM_LOG_LEVEL: 'silent', STRONGROOM_OFFSITE: path.join(work, 'offsite'), STRONGROOM_REPLICA: replica,
      STRONGROOM_BACKUP_KEEP: '2', STRONGROOM_BACKUP_HOUR: '2', ...(database ? { STRONGROOM_DATABASE_URL: database.url } : {}),
    };
    const dataDir = path.join(work, 'data');
    const config = loadConfig({ env: { ...env, STRONGROOM_DATA: dataDir } });
    expect(config).toMatchObject({ backupSchedule: 'daily', backupKeep: 2, backupHour: 2 });
    // 01:30 in London (GMT in November): before the backup hour.
    const clock = settableClock('2026-11-30T01:30:00Z');
    const open = async () => {
      const vault = await openVault(config, { create: true, logger: silent, clock });
      const o = { vault, app: await buildApp(vault, { extensions: serverExtensions }) };
      opened.push(o);
      return o;
    };
    const a = await open();
    // Two workers on one database (PostgreSQL); SQLite's one file has one process, asked twice.
    const b = dialect === 'postgres' ? await open() : a;

    const org = await createOrganisation(a.vault);
    const user = await org.user({ teams: ['payroll'] });
    const body = Buffer.alloc(100_000, 5);
    const res = await upload(a.app, user, org.collections.payroll!, 'payroll.bin', body);
    expect(res.statusCode).toBe(201);
    const documentId = (res.json() as { id: string }).id;

    expect(await queueDailyBackup(a.vault)).toBe(false); // too early
    const metric = async () => {
      const text = (await a.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).body;
      return Number(/^strongroom_backup_last_success_timestamp_seconds (\S+)$/m.exec(text)?.[1]);
    };
    expect(await metric()).toBe(0);

    const shelf = openBackupShelf(config.replica!);
    try {
      const days = ['2026-11-30', '2026-12-01', '2026-12-02'];
      for (const [i, day] of days.entries()) {
        clock.set(`${day}T02:15:00Z`);
        // Both workers ask; one job is queued.
        expect([await queueDailyBackup(a.vault), await queueDailyBackup(b.vault)]).toEqual([true, false]);
        await Promise.all([a.vault.worker.runDue(), b.vault.worker.runDue()]);
        // Taken: neither queues it again that day, and a later hour changes nothing.
        clock.set(`${day}T09:00:00Z`);
        expect([await queueDailyBackup(a.vault), await queueDailyBackup(b.vault)]).toEqual([false, false]);
        const names = (await shelf.list()).map((s) => s.name);
        expect(names).toEqual([`${day.replace(/-/g, '')}T021500Z`, ...(i > 0 ? [`${days[i - 1]!.replace(/-/g, '')}T021500Z`] : [])]);
        expect(await metric()).toBe(Date.parse(`${day}T02:15:00Z`) / 1000);
      }
      if (dialect === 'sqlite') expect(await readdir(path.join(replica, 'backups'))).toEqual(['20261201T021500Z', '20261202T021500Z']);
    } finally {
      shelf.close();
    }
    // One storage.backup event a day, by the system.
    const events = await a.vault.store.db.selectFrom('audit_events').select('action').where('action', '=', 'storage.backup').execute();
    expect(events).toHaveLength(3);
    const jobs = await a.vault.store.db.selectFrom('jobs').select(['status']).where('kind', '=', 'backup').execute();
    expect(jobs.map((j) => j.status)).toEqual(['done', 'done', 'done']);

    // Disaster: a new data directory (and database); restore without --from takes the newest.
    const target = path.join(work, 'restored');
    await mkdir(path.join(target, 'keys'), { recursive: true, mode: 0o700 });
    await copyFile(path.join(dataDir, 'keys', 'master.key'), path.join(target, 'keys', 'master.key'));
    const restoredDb = dialect === 'postgres' ? await createTestDatabase('srsb') : null;
    if (restoredDb) databases.push(restoredDb);
    const targetConfig = loadConfig({ env: { ...env, STRONGROOM_DATA: target, ...(restoredDb ? { STRONGROOM_DATABASE_URL: restoredDb.url, STRONGROOM_BACKUP: 'off' } : { STRONGROOM_BACKUP: 'off' }) } });
    const from = await newestBackup(targetConfig);
    expect(from).toContain('20261202T021500Z');
    if (dialect === 'sqlite') {
      // The command line, as an operator runs it: no --from, no --blobs-from.
      const cli = await runCli(['restore', '--data', target], { env: { STRONGROOM_CLAMD: clamd.socketPath, STRONGROOM_OFFSITE: env.STRONGROOM_OFFSITE, STRONGROOM_REPLICA: replica, STRONGROOM_BACKUP: 'off' } });
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stderr).toContain(`Restoring the newest backup in the replica: ${path.join(replica, 'backups', '20261202T021500Z')}`);
      expect(cli.stderr).toContain('1 blobs copied, 0 shredded (disposed), 0 missing, 0 damaged in the replica (not copied).');
    } else {
      const restored = await restoreBackup(targetConfig, { from, logger: silent }); // blobs from STRONGROOM_REPLICA
      expect(restored).toMatchObject({ copied: 1, shredded: 0, missing: [] });
    }
    const r = await openVault(targetConfig, { logger: silent });
    const rApp = await buildApp(r, { extensions: serverExtensions });
    opened.push({ vault: r, app: rApp });
    const got = await api(rApp, user).get(`documents/${documentId}/content`);
    expect(got.statusCode).toBe(200);
    expect(Buffer.compare(got.rawPayload, body)).toBe(0);
  });
});
