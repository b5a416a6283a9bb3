// A CLI command the database refuses for a moment says "try again" in words and exits 75 (EX_TEMPFAIL), so a
// script or cron job can run it again, instead of printing a driver's error: on SQLite while another process
// (the server, another command) holds the file's write lock past the busy timeout, which the command meets at
// its first write (the CLI's five seconds: nothing in the process shortens it); on PostgreSQL while the
// server refuses connections (restarting, stopped). `strongroom import` too, saying that a re-run resumes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqlite } from '../../src/db/kysely.js';
import { scanVersionJob } from '../../src/domain/jobs/kinds.js';
import { deriveKey, loadMasterKey } from '../../src/storage/keys.js';
import { runCli } from '../support/cli.js';
import { useClamd } from '../support/fixture.js';
import { createOrganisation } from '../support/vault.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';

const clamd = useClamd();

describe('a CLI command the database refuses for a moment', () => {
  let place: SharedVaultPlace;
  let failedJob: number;
  let share: string;
  let importer: { email: string; collectionId: string };
  beforeAll(async () => {
    place = await sharedVaultPlace('sqlite', clamd.socketPath, 'sr-cli-busy-');
    share = await mkdtemp(path.join(tmpdir(), 'sr-cli-busy-share-'));
    await writeFile(path.join(share, 'payslips.csv'), 'name,net\n');
    const v = await place.open();
    try {
      const org = await createOrganisation(v.vault, { areas: { payroll: 'OFFICIAL' } });
      importer = { email: (await org.user({ teams: ['payroll'] })).email, collectionId: org.collections.payroll! };
      const jobs = v.vault.store.repos.jobs;
      const now = new Date();
      await jobs.enqueue(scanVersionJob, { versionId: 'v-busy' }, { now, bytes: 0, organisationId: null });
      const [leased] = await jobs.lease(scanVersionJob.lane, now.toISOString(), new Date(now.getTime() + 60_000).toISOString(), 1);
      failedJob = leased!.id;
      expect(await jobs.fail(leased!.id, leased!.attempts, now.toISOString(), 'clamd: connection refused')).toBe(true);
    } finally {
      await closeKeepingData(v);
    }
  });
  afterAll(async () => {
    await place?.remove();
    if (share) await rm(share, { recursive: true, force: true });
  });

  it('SQLite, the write lock held by another process: says to try again, exits 75, changes nothing', { timeout: 60_000 }, async () => {
    const master = await loadMasterKey({ dataDir: place.dataDir, create: false });
    const other = openSqlite({ file: path.join(place.dataDir, 'strongroom.db'), key: deriveKey(master, 'sqlite-database') });
    try {
      await sql`begin immediate`.execute(other.db);
      const retried = await runCli(['--data', place.dataDir, 'jobs', 'retry', String(failedJob)], { env: place.env });
      await sql`rollback`.execute(other.db);
      expect(retried.stderr).toContain('strongroom: Someone changed the same records at the same moment, so nothing was changed. Try again.');
      expect(retried.code).toBe(75);
      const row = await other.db.selectFrom('jobs').select(['status']).where('id', '=', failedJob).executeTakeFirstOrThrow();
      expect(row.status).toBe('failed');
    } finally {
      await other.close();
    }
  });

  it('SQLite, the write lock held by another process: `strongroom import` stops, says to try again and that a re-run resumes, exits 75, imports nothing', { timeout: 60_000 }, async () => {
    const master = await loadMasterKey({ dataDir: place.dataDir, create: false });
    const other = openSqlite({ file: path.join(place.dataDir, 'strongroom.db'), key: deriveKey(master, 'sqlite-database') });
    try {
      await sql`begin immediate`.execute(other.db);
      const imported = await runCli(['--data', place.dataDir, 'import', share, '--collection', importer.collectionId, '--as', importer.email], { env: place.env });
      await sql`rollback`.execute(other.db);
      expect(imported.stderr).toContain('strongroom import stopped: Someone changed the same records at the same moment, so nothing was changed. Try again. Run the same command again to resume.');
      expect(imported.code).toBe(75);
      expect(await other.db.selectFrom('documents').select('id').where('collection_id', '=', importer.collectionId).execute()).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('PostgreSQL refusing connections: `strongroom import` says the database is not available and that a re-run resumes, exits 75', { timeout: 60_000 }, async () => {
    const imported = await runCli(['--data', place.dataDir, '--database-url', 'postgres://postgres@127.0.0.1:1/strongroom', 'import', share, '--collection', importer.collectionId, '--as', importer.email],
      { env: { STRONGROOM_CLAMD: clamd.socketPath } });
    expect(imported.stderr).toContain('strongroom import stopped: The database is not available at the moment. Try again in a few seconds. Run the same command again to resume.');
    expect(imported.code).toBe(75);
  });

  it('PostgreSQL refusing connections: says the database is not available, exits 75', { timeout: 60_000 }, async () => {
    // Nothing listens on port 1: the connection is refused, as while PostgreSQL restarts.
    const listed = await runCli(['--data', place.dataDir, '--database-url', 'postgres://postgres@127.0.0.1:1/strongroom', 'jobs', 'failed'], { env: { STRONGROOM_CLAMD: clamd.socketPath } });
    expect(listed.stderr).toContain('strongroom: The database is not available at the moment. Try again in a few seconds.');
    expect(listed.code).toBe(75);
  });
});
