// Opening and closing a SQLite test vault without deleting its data directory, for suites that
// restart a vault, copy its files at a point in time or hand the directory to the CLI.
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { serverExtensions } from '../../src/server.js';
import { openVault, type Vault } from '../../src/main.js';
import type { TestVault } from './vault.js';

/** Opens (creating if need be) a SQLite vault on an existing data directory, with its HTTP app. */
export async function openVaultAt(dataDir: string, clamdSocket: string, env: Record<string, string> = {}): Promise<{ vault: Vault; app: FastifyInstance }> {
  const config = loadConfig({
    env: { STRONGROOM_DATA: dataDir, STRONGROOM_CLAMD: clamdSocket, STRONGROOM_LOG_LEVEL: 'silent', STRONGROOM_AUDIT_CHECKPOINT_SECONDS: '1', ...env },
  });
  const vault = await openVault(config, { create: true, logger: pino({ level: 'silent' }) });
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
