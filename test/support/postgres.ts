// PostgreSQL harness for tests: a fresh, uniquely named database per suite (or per file),
// created through the admin URL that global-setup.ts checked and dropped afterwards. Suites that
// want a migrated database clone the template global-setup.ts migrated once for the run.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Set by global-setup.ts: a short id in every database name this run creates, so its
 *  teardown can drop what a crashed suite left behind without touching anyone else's. */
export const PG_RUN_ID_ENV = 'STRONGROOM_TEST_PG_RUN_ID';
/** Set by global-setup.ts: the database it migrated for this run, to clone with `TEMPLATE`. */
export const PG_TEMPLATE_ENV = 'STRONGROOM_TEST_PG_TEMPLATE';

export function adminUrl(): string {
  return process.env.STRONGROOM_TEST_PG_ADMIN_URL || DEFAULT_ADMIN_URL;
}

export interface TestDatabase {
  /** Connection URL of the new database (same server and credentials as the admin URL). */
  url: string;
  /** Terminates its connections and drops it. Safe to call twice. */
  drop(): Promise<void>;
}

export interface CreateTestDatabaseOptions {
  /** Clone this database (`CREATE DATABASE x TEMPLATE t`), e.g. one already migrated. */
  template?: string;
}

/** Creates an empty database named `<prefix>_<run id>_<random>` and returns its URL. */
export async function createTestDatabase(
  prefix = 'sr',
  options: CreateTestDatabaseOptions = {},
): Promise<TestDatabase> {
  const safePrefix = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 30) || 'sr';
  const runId = process.env[PG_RUN_ID_ENV] ?? 'norun';
  const name = `${safePrefix}_${runId}_${randomBytes(6).toString('hex')}`;

  const admin = adminUrl();
  await withAdminClient(admin, async (client) => {
    const template = options.template ? ` TEMPLATE ${quoteIdent(options.template)}` : '';
    await client.query(`CREATE DATABASE ${quoteIdent(name)}${template}`);
  });

  let dropped = false;
  return {
    url: databaseUrl(admin, name),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdminClient(admin, (client) => dropDatabase(client, name));
    },
  };
}

/**
 * A database already at the latest schema: a clone of the template global-setup.ts migrated
 * for this run, so a suite costs one `CREATE DATABASE` instead of running every migration.
 * Suites that test migrations themselves use createTestDatabase() for an empty one.
 */
export async function createMigratedDatabase(prefix = 'sr'): Promise<TestDatabase> {
  const template = process.env[PG_TEMPLATE_ENV];
  if (!template) throw new Error(`${PG_TEMPLATE_ENV} is not set: run the tests through vitest, whose global setup migrates the template`);
  return createTestDatabase(prefix, { template });
}

/** Drops every database whose name contains this run's id (used by global teardown). */
export async function dropRunDatabases(runId: string, url = adminUrl()): Promise<string[]> {
  if (!/^[a-z0-9]+$/.test(runId)) throw new Error(`bad run id ${runId}`);
  return withAdminClient(url, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1`,
      [`%\\_${runId}\\_%`],
    );
    for (const row of rows) await dropDatabase(client, row.datname);
    return rows.map((row) => row.datname);
  });
}

/** Opens a short-lived admin connection; fails within a few seconds if the server is down. */
export async function withAdminClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  // An idle client whose server goes away emits 'error'; without a listener that would crash
  // the test process instead of failing the query in hand.
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function databaseUrl(admin: string, database: string): string {
  const url = new URL(admin);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** The admin URL with any password replaced, for error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable URL>';
  }
}

async function dropDatabase(client: pg.Client, name: string): Promise<void> {
  await client.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [name],
  );
  // WITH (FORCE) (PostgreSQL 13+) also closes connections opened since the line above.
  const { rows } = await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
  const force = Number(rows[0]?.v ?? 0) >= 130000 ? ' WITH (FORCE)' : '';
  await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}${force}`);
}

function quoteIdent(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
