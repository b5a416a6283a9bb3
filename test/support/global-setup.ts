// Runs once before the suites (vitest globalSetup): makes sure PostgreSQL answers, or fails the
// run, and migrates the template database every PostgreSQL suite clones. Environment set here
// reaches every test worker. clamd and browser harnesses hook in here.
//
// There is no switch to skip PostgreSQL (STRONGROOM_TEST_NO_PG used to be one, and did nothing
// but make every PostgreSQL suite crash): `make test` starts a throwaway server when none runs,
// and a suite that skips itself quietly cannot fail. To look at one dialect, filter by name
// (`npx vitest run -t sqlite`); every dialect-parameterised suite names its dialect.
import { randomBytes } from 'node:crypto';
import { openPostgres } from '../../src/db/kysely.js';
import { migrate } from '../../src/db/migrate.js';
import { TEST_PASSWORD_HASHING } from './password-hashing.js';
import {
  DEFAULT_ADMIN_URL,
  PG_RUN_ID_ENV,
  PG_TEMPLATE_ENV,
  createTestDatabase,
  dropRunDatabases,
  redactUrl,
  withAdminClient,
} from './postgres.js';

export default async function setup(): Promise<() => Promise<void>> {
  const url = process.env.STRONGROOM_TEST_PG_ADMIN_URL || DEFAULT_ADMIN_URL;
  try {
    await withAdminClient(url, (client) => client.query('SELECT 1'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `PostgreSQL is not reachable at ${redactUrl(url)} (${reason}). ` +
        'Run `make test` (it starts a throwaway server when none runs) or point ' +
        'STRONGROOM_TEST_PG_ADMIN_URL at a server.',
      { cause: error },
    );
  }

  const runId = `t${randomBytes(4).toString('hex')}`;
  // Every process the run starts hashes passwords cheaply, like every vault it opens (TEST_PASSWORD_HASHING).
  Object.assign(process.env, TEST_PASSWORD_HASHING);
  process.env.STRONGROOM_TEST_PG_ADMIN_URL = url;
  process.env[PG_RUN_ID_ENV] = runId;
  const teardown = async () => {
    // Suites drop their own databases; this catches those left by a failed or killed suite,
    // and the template.
    try {
      const leftovers = (await dropRunDatabases(runId, url)).filter((name) => !name.startsWith('srtemplate_'));
      if (leftovers.length > 0) {
        console.warn(`global-setup: dropped ${leftovers.length} test database(s) left behind: ${leftovers.join(', ')}`);
      }
    } catch (error) {
      console.warn(`global-setup: could not drop this run's leftover test databases: ${String(error)}`);
    }
  };

  try {
    process.env[PG_TEMPLATE_ENV] = await migratedTemplate();
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}

/** Creates and migrates the run's template; no connection stays open, or it could not be cloned. */
async function migratedTemplate(): Promise<string> {
  const template = await createTestDatabase('srtemplate');
  const handle = openPostgres(template.url, 1);
  try {
    await migrate(handle.db, handle.caps);
  } finally {
    await handle.close();
  }
  const name = decodeURIComponent(new URL(template.url).pathname.slice(1));
  // Nobody may connect to it by mistake (a connection would make every clone fail).
  await withAdminClient(process.env.STRONGROOM_TEST_PG_ADMIN_URL!, (client) => client.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`));
  return name;
}
