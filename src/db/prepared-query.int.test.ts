// A statement prepared once runs with each call's values, on either dialect, on the root handle or
// inside a transaction, and refuses what Kysely's builder would have refused or built differently.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmptyDatabase, type TestHandle } from '../../test/support/store.js';
import { DomainError } from '../domain/errors.js';
import { preparedQuery } from './prepared-query.js';

describe.each(['sqlite', 'postgres'] as const)('a prepared statement on %s', (dialect) => {
  let opened: TestHandle;
  beforeAll(async () => {
    opened = await openEmptyDatabase(dialect);
    await sql`create table key_values (key text primary key, value text not null)`.execute(opened.handle.db);
    await sql`insert into key_values (key, value) values ('a', 'first'), ('b', 'second'), ('it''s', 'quoted')`.execute(opened.handle.db);
  });
  afterAll(async () => opened?.remove());

  it('is built once and answers each call with its own values', async () => {
    let builds = 0;
    const valueOf = preparedQuery((db, values: { key: string }) => {
      builds += 1;
      return db.selectFrom('key_values').select('value').where('key', '=', values.key);
    });
    const { db } = opened.handle;
    expect((await valueOf.run(db, { key: 'a' })).rows).toEqual([{ value: 'first' }]);
    expect((await valueOf.run(db, { key: 'b' })).rows).toEqual([{ value: 'second' }]);
    expect((await valueOf.run(db, { key: "it's" })).rows).toEqual([{ value: 'quoted' }]);
    expect((await valueOf.run(db, { key: "a' or '1'='1" })).rows).toEqual([]);
    expect(builds).toBe(1);
  });

  it('runs inside a transaction on its connection, and reuses what the root handle compiled', async () => {
    let builds = 0;
    const valueOf = preparedQuery((db, values: { key: string }) => {
      builds += 1;
      return db.selectFrom('key_values').select('value').where('key', '=', values.key);
    });
    const setValue = preparedQuery((db, values: { key: string; value: string }) => db.updateTable('key_values').set({ value: values.value }).where('key', '=', values.key));
    const { db } = opened.handle;
    await valueOf.run(db, { key: 'a' });
    await expect(db.transaction().execute(async (trx) => {
      const updated = await setValue.run(trx, { key: 'a', value: 'changed' });
      expect(updated.numAffectedRows).toBe(1n);
      expect((await valueOf.run(trx, { key: 'a' })).rows).toEqual([{ value: 'changed' }]);
      throw new Error('roll back');
    })).rejects.toThrow('roll back');
    expect((await valueOf.run(db, { key: 'a' })).rows).toEqual([{ value: 'first' }]);
    expect(builds).toBe(1);
  });

  it('binds a list built of stand-ins, one value each', async () => {
    const valuesOf = preparedQuery((db, values: { first: string; second: string }) =>
      db.selectFrom('key_values').select('value').where('key', 'in', [values.first, values.second]).orderBy('key'));
    expect((await valuesOf.run(opened.handle.db, { first: 'b', second: 'a' })).rows).toEqual([{ value: 'first' }, { value: 'second' }]);
    expect((await valuesOf.run(opened.handle.db, { first: 'b', second: 'none' })).rows).toEqual([{ value: 'second' }]);
  });

  it('refuses text containing NUL before it reaches the database, as every other statement does', async () => {
    const valueOf = preparedQuery((db, values: { key: string }) => db.selectFrom('key_values').select('value').where('key', '=', values.key));
    const refused = await valueOf.run(opened.handle.db, { key: 'a\u0000' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ code: 'INVALID', message: 'Text containing the NUL character (U+0000) is not accepted.' });
  });

  it('refuses a list where its statement has room for one value', async () => {
    const valueOf = preparedQuery((db, values: { keys: string[] }) => db.selectFrom('key_values').select('value').where('key', 'in', values.keys));
    await expect(valueOf.run(opened.handle.db, { keys: ['a', 'b'] })).rejects.toThrow('A prepared statement binds one value for keys, not a list.');
  });

  it('refuses a build that uses a value instead of binding it, when first run', async () => {
    const branching = preparedQuery((db, values: { key: string; limit: number }) => {
      const query = db.selectFrom('key_values').select('value').where('key', '=', values.key);
      return values.limit ? query.limit(10) : query;
    });
    await expect(branching.run(opened.handle.db, { key: 'a', limit: 0 })).rejects.toThrow('A prepared statement must bind each value it is given, as one value: limit is not bound.');
  });

  it('refuses a build that hands over the stand-ins whole instead of value by value', async () => {
    const spreading = preparedQuery((db, values: { key: string; value: string }) => db.insertInto('key_values').values({ ...values }));
    await expect(spreading.run(opened.handle.db, { key: 'c', value: 'third' })).rejects.toThrow("A prepared statement's values must be read one by one, by name.");
    expect((await sql<{ n: number }>`select count(*) as n from key_values where key = 'c'`.execute(opened.handle.db)).rows.map((r) => Number(r.n))).toEqual([0]);
  });
});
