// A consistent snapshot of the whole database, and loading one into an empty database.
// SQLite: `VACUUM INTO` a new file (one read transaction; the copy stays encrypted with the same
// database key), made on a thread of its own (sqlite-snapshot.ts, Store.snapshotInto). PostgreSQL:
// every table read in one REPEATABLE READ, READ ONLY transaction, each row as one JSON line
// ({"t": table, "r": row_to_json}); bytea comes out as PostgreSQL's "\x…" hex text and goes back in
// through json_populate_recordset, which also restores every other type.
// pg_dump is not used: it must match the server's major version, which the project does not pin.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { BlobEntry } from '../domain/backup/manifest.js';
import type { DialectCaps } from './kysely.js';
import { migrate, migrationNames } from './migrate.js';
import type { Schema } from './schema.js';

type Db = Kysely<Schema> | Transaction<Schema>;

export interface SnapshotFacts {
  migrations: string[];
  tables: Record<string, number>;
  treeSize: number;
  checkpoint: string | null;
}

/** The tables restore loads; schema_migrations is recorded as the manifest's migration list instead. */
export async function tableNames(db: Db, caps: DialectCaps): Promise<string[]> {
  const rows = caps.dialect === 'sqlite'
    ? await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`.execute(db)
    : await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(db);
  return rows.rows.map((r) => r.name).filter((n) => n !== 'schema_migrations');
}

export async function snapshotFacts(db: Db, caps: DialectCaps): Promise<SnapshotFacts> {
  const migrations = (await db.selectFrom('schema_migrations' as never).select('name' as never).orderBy('name' as never).execute()).map((r) => (r as { name: string }).name);
  const tables: Record<string, number> = {};
  for (const table of await tableNames(db, caps)) {
    const row = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(db);
    tables[table] = Number(row.rows[0]?.n ?? 0);
  }
  const size = await db.selectFrom('key_values').select('value').where('key', '=', 'audit.tree_size').executeTakeFirst();
  const checkpoint = await db.selectFrom('audit_checkpoints').select('note').orderBy('tree_size', 'desc').limit(1).executeTakeFirst();
  return { migrations, tables, treeSize: size ? Number(size.value) : 0, checkpoint: checkpoint?.note ?? null };
}

/** Every version the database references, in pages (bounded memory). */
export async function* blobEntries(db: Db): AsyncIterable<BlobEntry> {
  let after = '';
  for (;;) {
    const rows = await db.selectFrom('versions as v').innerJoin('documents as d', 'd.id', 'v.document_id')
      .select(['v.id', 'v.document_id', 'v.organisation_id', 'v.blob_id', 'v.key_id', 'v.size', 'v.sha256', 'v.wrapped_key', 'd.current_version_id'])
      .where('v.id', '>', after).orderBy('v.id').limit(500).execute();
    for (const r of rows) {
      yield {
        versionId: r.id, documentId: r.document_id, organisationId: r.organisation_id, blobId: r.blob_id, keyId: r.key_id,
        size: Number(r.size), sha256: r.sha256, shredded: r.wrapped_key === null || r.wrapped_key.length === 0, current: r.current_version_id === r.id,
      };
    }
    if (rows.length < 500) return;
    after = rows[rows.length - 1]!.id;
  }
}

/**
 * PostgreSQL: runs `work` inside one REPEATABLE READ, READ ONLY transaction, giving it a way to
 * stream every row of every table; facts and blob lists read through `trx` see the same snapshot.
 */
export async function withPostgresSnapshot<T>(db: Kysely<Schema>, caps: DialectCaps, work: (trx: Transaction<Schema>, rows: (sink: (line: string) => Promise<void>) => Promise<void>) => Promise<T>): Promise<T> {
  return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(async (trx) => {
    const rows = async (sink: (line: string) => Promise<void>) => {
      for (const table of await tableNames(trx, caps)) {
        await sql`declare backup_rows no scroll cursor for select row_to_json(t)::text as j from ${sql.table(table)} t`.execute(trx);
        const prefix = `{"t":${JSON.stringify(table)},"r":`;
        for (;;) {
          const batch = await sql<{ j: string }>`fetch 500 from backup_rows`.execute(trx);
          for (const row of batch.rows) await sink(`${prefix}${row.j}}\n`);
          if (batch.rows.length < 500) break;
        }
        await sql`close backup_rows`.execute(trx);
      }
    };
    return work(trx, rows);
  });
}

/** Refuses a PostgreSQL database that already holds tables: a restore never merges into or overwrites one. */
export async function assertEmptyPostgres(db: Kysely<Schema>, where: string): Promise<void> {
  const rows = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() order by table_name`.execute(db);
  if (rows.rows.length > 0) {
    const names = rows.rows.slice(0, 3).map((r) => r.name).join(', ');
    throw new Error(`Refusing to restore into ${where}: the database is not empty (it has ${rows.rows.length} tables, e.g. ${names}). Restore into a new, empty database (createdb) instead.`);
  }
}

/** Checks the code knows every migration the backup was made at, in the same order. */
export function assertKnownMigrations(backupMigrations: string[]): void {
  const known = migrationNames();
  const unknown = backupMigrations.filter((name, i) => known[i] !== name);
  if (unknown.length > 0) throw new Error(`This backup was made by a newer or different Strongroom (schema migrations ${unknown.slice(0, 3).join(', ')} are unknown here): restore it with that version or later.`);
}

/**
 * PostgreSQL: migrates an empty database to the backup's schema, loads every row (foreign keys
 * dropped for the load and re-added after, so they are checked once, at the end) and moves sequences
 * past the loaded ids. One transaction for the rows. Migrating on to this code's schema is left to the
 * vault's next open (compose/sign-in-seals.ts), as for an SQLite file: some migrations need work done
 * with the master key in their transaction (sealing the sign-in secrets of a backup made before seals),
 * which a bare migration here would skip, leaving every person's seal null and nobody able to sign in.
 */
export async function loadPostgres(db: Kysely<Schema>, caps: DialectCaps, backupMigrations: string[], lines: AsyncIterable<string>): Promise<Record<string, number>> {
  assertKnownMigrations(backupMigrations);
  const last = backupMigrations[backupMigrations.length - 1];
  await migrate(db, caps, last ? { until: last } : {});
  const loaded: Record<string, number> = {};
  await db.transaction().execute(async (trx) => {
    const tables = await tableNames(trx, caps);
    const fks = (await sql<{ tbl: string; name: string; def: string }>`select conrelid::regclass::text as tbl, conname as name, pg_get_constraintdef(oid) as def from pg_constraint where contype = 'f' and connamespace = current_schema()::regnamespace`.execute(trx)).rows;
    for (const fk of fks) await sql`alter table ${sql.raw(fk.tbl)} drop constraint ${sql.id(fk.name)}`.execute(trx);
    // Rows a migration seeded are replaced by the backup's own.
    for (const table of tables) await sql`delete from ${sql.table(table)}`.execute(trx);
    let table = '';
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await sql`insert into ${sql.table(table)} select * from json_populate_recordset(null::${sql.table(table)}, ${`[${batch.join(',')}]`}::json)`.execute(trx);
      loaded[table] = (loaded[table] ?? 0) + batch.length;
      batch = [];
    };
    for await (const line of lines) {
      if (line === '') continue;
      const at = line.indexOf(',"r":');
      const name = JSON.parse(`${line.slice(0, at)}}`) as { t: string };
      if (!tables.includes(name.t)) throw new Error(`The backup holds rows for a table "${name.t}" this schema does not have.`);
      if (name.t !== table || batch.length >= 500) {
        await flush();
        table = name.t;
      }
      batch.push(line.slice(at + 5, -1));
    }
    await flush();
    for (const fk of fks) await sql`alter table ${sql.raw(fk.tbl)} add constraint ${sql.id(fk.name)} ${sql.raw(fk.def)}`.execute(trx);
    const serials = (await sql<{ tbl: string; col: string }>`select table_name as tbl, column_name as col from information_schema.columns where table_schema = current_schema() and column_default like 'nextval(%'`.execute(trx)).rows;
    for (const s of serials) {
      await sql`select setval(pg_get_serial_sequence(${s.tbl}, ${s.col}), coalesce((select max(${sql.id(s.col)}) from ${sql.table(s.tbl)}), 0) + 1, false)`.execute(trx);
    }
  });
  return loaded;
}
