// The SQL statements the drivers really receive, with their values, for tests that read their plans: every
// better-sqlite3 statement run and every pg query, recorded while `record` runs its work. Loaded once per test
// file (it wraps both drivers' prototypes for the file's whole run, recording only inside `record`).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import pg from 'pg';
import { openPostgres, openSqlite, type DatabaseHandle } from '../../src/db/kysely.js';
import { migrate } from '../../src/db/migrate.js';
import { createMigratedDatabase } from './postgres.js';

export interface RecordedStatement { source: string; values: unknown[] }
export interface PlanNode { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string; 'Actual Rows'?: number; 'Rows Removed by Filter'?: number; Plans?: PlanNode[] }

let recording: RecordedStatement[] | null = null;
const sqlite = Database.prototype as unknown as { prepare(this: Database.Database, source: string): Record<string, unknown> };
const prepare = sqlite.prepare;
sqlite.prepare = function (this: Database.Database, source: string) {
  const statement = prepare.call(this, source);
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = statement[method] as (...args: unknown[]) => unknown;
    statement[method] = function (this: unknown, ...args: unknown[]) {
      recording?.push({ source, values: args.flat() });
      return original.apply(this, args);
    };
  }
  return statement;
};
const clientQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text: string; values?: unknown[] };
  if (typeof first === 'string') recording?.push({ source: first, values: (args[1] as unknown[] | undefined) ?? [] });
  else recording?.push({ source: first.text, values: first.values ?? [] });
  return clientQuery.apply(this, args);
} as typeof pg.Client.prototype.query;

/** Runs `work`, returning what it returned and the statements it ran, in order. */
export async function record<T>(work: () => Promise<T>): Promise<{ result: T; statements: RecordedStatement[] }> {
  const statements: RecordedStatement[] = [];
  recording = statements;
  try {
    return { result: await work(), statements };
  } finally {
    recording = null;
  }
}

/** SQLite's plan of the statement, one line of EXPLAIN QUERY PLAN's detail each. */
export async function sqlitePlan(db: Kysely<any>, statement: RecordedStatement): Promise<string[]> {
  const { rows } = await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${statement.source}`, statement.values));
  return rows.map((r) => r.detail);
}

/**
 * PostgreSQL's plan of the statement with what each node read, run for real inside a transaction rolled back.
 * Every node, the root first.
 *
 * `asAtScale`: plan it as PostgreSQL would on a table far larger than a test's, with scans and sorts priced out
 * (they are still used when nothing else can answer). On a few thousand rows, reading the whole table and
 * sorting it can honestly cost less than a thousand reads by index, so whether the planner picks the index
 * there depends on its statistics of the day; the question such a test asks is whether the statement can be
 * answered by one ordered range of an index at all.
 */
export async function postgresPlan(db: Kysely<any>, statement: RecordedStatement, options: { asAtScale?: boolean } = {}): Promise<PlanNode[]> {
  const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];
  const plan = await db.connection().execute(async (connection) => {
    await sql`begin`.execute(connection);
    try {
      if (options.asAtScale) {
        await sql`set local enable_seqscan = off`.execute(connection);
        await sql`set local enable_sort = off`.execute(connection);
      }
      const { rows } = await connection.executeQuery<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(CompiledQuery.raw(`explain (analyze, format json) ${statement.source}`, statement.values));
      return rows[0]!['QUERY PLAN'][0].Plan;
    } finally {
      await sql`rollback`.execute(connection);
    }
  });
  return nodesOf(plan);
}

/** A migrated database of its own on either dialect (PostgreSQL: one made for it; SQLite: an encrypted file in a temporary folder), and how to remove it. */
export async function openMigratedHandle(dialect: 'sqlite' | 'postgres', name: string): Promise<{ handle: DatabaseHandle; close: () => Promise<void> }> {
  if (dialect === 'postgres') {
    const database = await createMigratedDatabase(`sr${name}`);
    const handle = openPostgres(database.url, 2);
    return { handle, close: async () => { await handle.close(); await database.drop(); } };
  }
  const dir = await mkdtemp(path.join(tmpdir(), `sr-${name}-`));
  const handle = openSqlite({ file: path.join(dir, `${name}.db`), key: randomBytes(32) });
  await migrate(handle.db, handle.caps);
  return { handle, close: async () => { await handle.close(); await rm(dir, { recursive: true, force: true }); } };
}
