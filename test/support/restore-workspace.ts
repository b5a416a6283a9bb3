// A restore test's place on disk and in PostgreSQL: a temporary folder holding the vault's data directory and
// whatever offsite folders, backups and key files the test puts there, and on PostgreSQL a database made for
// each vault the test opens (the live one, the one restored into); all removed after the describe.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import type { Dialect } from './vault.js';

export interface RestoreWorkspace {
  /** The temporary folder (set in beforeAll). */
  readonly work: string;
  /** The vault's data directory, inside it. */
  readonly dataDir: string;
  /** The offsite replica's folder the vaults are configured with: `<work>/offsite` unless a test points it elsewhere. */
  offsite: string;
  /** A database of its own on PostgreSQL (dropped after the describe); null on SQLite, whose database is in the data directory. */
  newDatabase(): Promise<TestDatabase | null>;
  /** The environment a vault opened on `db` is configured with (its offsite replica and database). */
  envFor(db: TestDatabase | null): Record<string, string>;
  /** The configuration a restore into the data directory and `db` is given. */
  configFor(db: TestDatabase | null): Config;
}

export function useRestoreWorkspace(dialect: Dialect, clamd: { readonly socketPath: string }, name: string): RestoreWorkspace {
  const databases: TestDatabase[] = [];
  const workspace: RestoreWorkspace = {
    work: '',
    dataDir: '',
    offsite: '',
    async newDatabase() {
      if (dialect !== 'postgres') return null;
      const db = await createTestDatabase(`sr_${name}`);
      databases.push(db);
      return db;
    },
    envFor: (db) => ({ STRONGROOM_OFFSITE: workspace.offsite, ...(db ? { STRONGROOM_DATABASE_URL: db.url } : {}) }),
    configFor: (db) => loadConfig({ env: { STRONGROOM_DATA: workspace.dataDir, STRONGROOM_CLAMD: clamd.socketPath, STRONGROOM_LOG_LEVEL: 'silent', ...workspace.envFor(db) } }),
  };
  beforeAll(async () => {
    const work = await mkdtemp(path.join(tmpdir(), `sr-${name}-`));
    Object.assign(workspace, { work, dataDir: path.join(work, 'data'), offsite: path.join(work, 'offsite') });
    await mkdir(workspace.dataDir);
  });
  afterAll(async () => {
    for (const db of databases) await db.drop();
    if (workspace.work) await rm(workspace.work, { recursive: true, force: true });
  });
  return workspace;
}
