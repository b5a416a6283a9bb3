// Opening and closing a test vault without deleting its data directory, for suites that restart a
// vault, copy its files at a point in time or hand the directory (and database) to the CLI.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { defaultOffsiteDir } from '../../src/config/storage-settings.js';
import { buildApp } from '../../src/http/app.js';
import { serverExtensions } from '../../src/server.js';
import type { Clock } from '../../src/domain/ports.js';
import { openVault, type Vault } from '../../src/main.js';
import { createMigratedDatabase, type TestDatabase } from './postgres.js';
import { TEST_PASSWORD_HASHING } from './password-hashing.js';
import type { Dialect, TestVault } from './vault.js';

/** Opens (creating if need be) a vault (SQLite unless `env` names a database) on an existing data directory, with its HTTP app. */
export async function openVaultAt(dataDir: string, clamdSocket: string, env: Record<string, string> = {}, options: { clock?: Clock } = {}): Promise<{ vault: Vault; app: FastifyInstance }> {
  const config = loadConfig({
    env: { STRONGROOM_DATA: dataDir, STRONGROOM_CLAMD: clamdSocket, STRONGROOM_LOG_LEVEL: 'silent', STRONGROOM_AUDIT_CHECKPOINT_SECONDS: '1', ...TEST_PASSWORD_HASHING, ...env },
  });
  const vault = await openVault(config, { create: true, logger: pino({ level: 'silent' }), ...(options.clock ? { clock: options.clock } : {}) });
  const app = await buildApp(vault, { extensions: serverExtensions });
  return { vault, app };
}

/** Closes the app and vault but keeps the data directory (the caller removes it). */
export async function closeKeepingData(v: { vault: Vault; app: FastifyInstance }): Promise<void> {
  await v.app.close();
  await v.vault.close();
}

/** Makes a harness vault's close() remove only what is left, after the test closed it itself. */
export function markClosed(t: TestVault, cleanup: () => Promise<void>): void {
  t.close = cleanup;
}

/** A data directory, and on PostgreSQL a database, that the test and the CLI open in turn. */
export interface SharedVaultPlace {
  dataDir: string;
  /** What a CLI child needs to reach the same vault: clamd, and the database on PostgreSQL. */
  env: Record<string, string>;
  open(): Promise<{ vault: Vault; app: FastifyInstance }>;
  /** Drops the database and removes the data directory. */
  remove(): Promise<void>;
}

/** Removes a test's data directory and the default offsite folder a vault makes beside it (audit checkpoints, the blob replica). */
export async function removeDataDir(dataDir: string): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
  await rm(defaultOffsiteDir(dataDir), { recursive: true, force: true });
}

export async function sharedVaultPlace(dialect: Dialect, clamdSocket: string, prefix = 'sr-cli-'): Promise<SharedVaultPlace> {
  const dataDir = await mkdtemp(path.join(tmpdir(), prefix));
  const database: TestDatabase | null = dialect === 'postgres' ? await createMigratedDatabase('srcli') : null;
  const env = { STRONGROOM_CLAMD: clamdSocket, ...(database ? { STRONGROOM_DATABASE_URL: database.url } : {}) };
  return {
    dataDir, env,
    open: () => openVaultAt(dataDir, clamdSocket, env),
    async remove() {
      await database?.drop();
      await removeDataDir(dataDir);
    },
  };
}
