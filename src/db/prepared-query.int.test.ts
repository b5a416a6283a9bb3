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

  it('is built with stand-ins once and answers each call with its own values (each also built with them, in the tests)', async () => {
    let builds = 0;
    let checks = 0;
    const valueOf = preparedQuery((db, values: { key: string }) => {
      if (typeof values.key === 'string') checks += 1;
      else builds += 1;
      return db.selectFrom('key_values').select('value').where('key', '=', values.key);
    });
    const { db } = opened.handle;
    expect((await valueOf.run(db, { key: 'a' })).rows).toEqual([{ value: 'first' }]);
    expect((await valueOf.run(db, { key: 'b' })).rows).toEqual([{ value: 'second' }]);
    expect((await valueOf.run(db, { key: "it's" })).rows).toEqual([{ value: 'quoted' }]);
    expect((await valueOf.run(db, { key: "a' or '1'='1" })).rows).toEqual([]);
    expect(builds).toBe(1);
    expect(checks).toBe(4);
  });

  it('runs inside a transaction on its connection, and reuses what the root handle compiled', async () => {
    let builds = 0;
    const valueOf = preparedQuery((db, values: { key: string }) => {
      if (typeof values.key !== 'string') builds += 1;
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

  it('refuses a build that writes a value into the statement instead of binding it', async () => {
    const writing = preparedQuery((db, values: { key: string }) => db.selectFrom('key_values').select('value').where('key', '=', `${values.key}`));
    await expect(writing.run(opened.handle.db, { key: 'a' })).rejects.toThrow('A prepared statement must bind key, not write it into the statement.');
  });

  it('refuses a run that leaves out a value, rather than binding nothing for it', async () => {
    const valueOf = preparedQuery((db, values: Record<string, string>) => db.selectFrom('key_values').select('value').where('key', '=', values.key as string));
    await expect(valueOf.run(opened.handle.db, { kee: 'a' })).rejects.toThrow('A prepared statement was run without a value for key.');
  });

  it('refuses a build that would have built something else from the real values (a default for a missing value)', async () => {
    const defaulting = preparedQuery((db, values: { value?: string | undefined }) => db.selectFrom('key_values').select('key').where('value', '=', values.value ?? 'first'));
    await expect(defaulting.run(opened.handle.db, { value: 'second' })).resolves.toMatchObject({ rows: [{ key: 'b' }] });
    await expect(defaulting.run(opened.handle.db, { value: undefined })).rejects.toThrow(
      'A prepared statement built with stand-ins differs from the same statement built with its values: its build must only hand each value to Kysely.');
  });

  it('runs only on a handle whose one plugin is the NUL guard, so no other plugin changes a text it shares', async () => {
    const valueOf = preparedQuery((db, values: { key: string }) => db.selectFrom('key_values').select('value').where('key', '=', values.key));
    await expect(valueOf.run(opened.handle.db.withSchema('elsewhere'), { key: 'a' })).rejects.toThrow(
      'A prepared statement runs only on a handle from db/kysely.ts (or its transaction), whose one plugin is the NUL guard.');
    expect((await valueOf.run(opened.handle.db, { key: 'a' })).rows).toEqual([{ value: 'first' }]);
  });
});
