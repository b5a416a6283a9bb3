// Runs once before the suites (vitest globalSetup): makes sure PostgreSQL answers, or fails the
// run. Environment set here reaches every test worker. clamd and browser harnesses hook in here.
import { randomBytes } from 'node:crypto';
import {
  DEFAULT_ADMIN_URL,
  PG_AVAILABLE_ENV,
  PG_RUN_ID_ENV,
  dropRunDatabases,
  redactUrl,
  withAdminClient,
} from './postgres.js';

export default async function setup(): Promise<() => Promise<void>> {
  // Only an explicit opt-out skips PostgreSQL; a missing server is an error, never a quiet skip,
  // because a skipped suite cannot fail.
  if (process.env.STRONGROOM_TEST_NO_PG === '1') {
    process.env[PG_AVAILABLE_ENV] = '0';
    console.warn('global-setup: STRONGROOM_TEST_NO_PG=1, PostgreSQL suites are skipped');
    return async () => {};
  }

  const url = process.env.STRONGROOM_TEST_PG_ADMIN_URL || DEFAULT_ADMIN_URL;
  try {
    await withAdminClient(url, (client) => client.query('SELECT 1'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `PostgreSQL is not reachable at ${redactUrl(url)} (${reason}). ` +
        'Run `make test` (it starts a throwaway server when none runs), point ' +
        'STRONGROOM_TEST_PG_ADMIN_URL at a server, or set STRONGROOM_TEST_NO_PG=1 to skip those suites.',
      { cause: error },
    );
  }

  const runId = `t${randomBytes(4).toString('hex')}`;
  process.env.STRONGROOM_TEST_PG_ADMIN_URL = url;
  process.env[PG_AVAILABLE_ENV] = '1';
  process.env[PG_RUN_ID_ENV] = runId;

  return async () => {
    // Suites drop their own databases; this catches those left by a failed or killed suite.
    try {
      const leftovers = await dropRunDatabases(runId, url);
      if (leftovers.length > 0) {
        console.warn(`global-setup: dropped ${leftovers.length} test database(s) left behind: ${leftovers.join(', ')}`);
      }
    } catch (error) {
      console.warn(`global-setup: could not drop this run's leftover test databases: ${String(error)}`);
    }
  };
}
