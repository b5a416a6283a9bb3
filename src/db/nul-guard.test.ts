// The NUL guard refuses U+0000 in any value Kysely sends, before a driver sees it, whatever the
// dialect: compiled against a dummy driver, so no database is needed.
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../domain/errors.js';
import { nulGuard } from './nul-guard.js';

interface Db {
  t: { id: string; name: string; data: Buffer | null; n: number };
}

const dialects = {
  sqlite: new Kysely<Db>({ dialect: { createAdapter: () => new SqliteAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (db) => new SqliteIntrospector(db), createQueryCompiler: () => new SqliteQueryCompiler() }, plugins: [nulGuard] }),
  postgres: new Kysely<Db>({ dialect: { createAdapter: () => new PostgresAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (db) => new PostgresIntrospector(db), createQueryCompiler: () => new PostgresQueryCompiler() }, plugins: [nulGuard] }),
};

function refused(build: () => unknown): void {
  let error: unknown;
  try {
    build();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).code).toBe('INVALID');
}

describe.each(Object.entries(dialects))('nul guard on %s', (_name, db) => {
  it('refuses NUL in a where value, an inserted value, an update, an in-list and a raw sql parameter', () => {
    refused(() => db.selectFrom('t').selectAll().where('id', '=', 'a\u0000').compile());
    refused(() => db.insertInto('t').values({ id: '1', name: '\u0000', data: null, n: 1 }).compile());
    refused(() => db.insertInto('t').values([{ id: '1', name: 'ok', data: null, n: 1 }, { id: '2', name: 'x\u0000y', data: null, n: 2 }]).compile());
    refused(() => db.updateTable('t').set({ name: 'tail\u0000' }).where('id', '=', '1').compile());
    refused(() => db.selectFrom('t').selectAll().where('id', 'in', ['ok', 'bad\u0000']).compile());
    refused(() => sql`select ${'x\u0000'}`.compile(db));
  });

  it('finds NUL however deep the value sits: a subquery, a raw fragment inside a where, an upsert, a case', () => {
    refused(() => db.selectFrom('t').selectAll().where('id', 'in', db.selectFrom('t').select('id').where('name', '=', 'deep\u0000')).compile());
    refused(() => db.selectFrom('t').selectAll().where(sql<boolean>`name like ${'%\u0000%'}`).compile());
    refused(() => db.insertInto('t').values({ id: '1', name: 'ok', data: null, n: 1 }).onConflict((c) => c.column('id').doUpdateSet({ name: 'again\u0000' })).compile());
    refused(() => db.updateTable('t').set({ name: (eb) => eb.case().when('n', '=', 1).then('one\u0000').else('other').end() }).compile());
  });

  it('lets every other value through unchanged, binary NUL bytes included', () => {
    const bytes = Buffer.from([0, 1, 0, 2]);
    const query = db.insertInto('t').values({ id: 'é\u0001\u{1F4C4}', name: 'tab\tand\nnewline', data: bytes, n: 0 }).compile();
    expect(query.parameters).toEqual(['é\u0001\u{1F4C4}', 'tab\tand\nnewline', bytes, 0]);
    expect(db.selectFrom('t').selectAll().where('id', 'in', ['a', 'b']).compile().parameters).toEqual(['a', 'b']);
  });
});
