// A statement that every request runs, built and compiled once and then run with each call's values.
// Kysely builds a tree of frozen objects and compiles it to SQL on every call: 25-60 µs a statement
// on this machine, about a fifth of a small download's CPU across the statements it runs
// (docs/performance.md "Statements built once"). The statements here are built once per dialect
// with stand-ins for their values, and each call puts its own values in their places.
import { isDeepStrictEqual } from 'node:util';
import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import { nulGuard, refuseNul } from './nul-guard.js';
import type { Schema } from './schema.js';

/**
 * Stands in for one named value while the statement is built; never sent to the database. It
 * refuses to become text, a number or JSON, so a build that writes a value into the statement
 * instead of binding it fails at once.
 */
class Slot {
  constructor(readonly name: string) {}
  [Symbol.toPrimitive](): never {
    throw new TypeError(`A prepared statement must bind ${this.name}, not write it into the statement.`);
  }
  toJSON(): never {
    return this[Symbol.toPrimitive]();
  }
}

let checkEveryRun = false;

/**
 * From now on every run also builds its statement with the call's own values and compares the two
 * (below). The test suites turn this on (test/support/prepared-query-check.ts), so any call a
 * test makes that the stand-ins would have built differently fails that test.
 */
export function checkPreparedStatementsEveryRun(): void {
  checkEveryRun = true;
}

/**
 * A statement whose shape is fixed and whose values change. `build` receives stand-ins for the
 * values (typed as the values, so Kysely checks them as usual) and must only hand them to Kysely,
 * each read by name: a stand-in is not the value, so a build that branches on one
 * (`if (values.limit)`, `values.status ?? 'active'`) or reads anything else that changes (a clock)
 * would build the wrong statement. A value must be one bound value; a list is refused at run time,
 * since the statement's text has room for exactly one (`in (?)` has as many `?` as the list built
 * with). Write a statement whose shape depends on its values with Kysely's builder as usual.
 *
 * What catches a build that breaks these rules: a stand-in that is listed, spread, tested with `in`,
 * turned into text or left unbound is refused when the statement is compiled; and the first run on
 * each handle (every run, in the tests) also builds the statement with the call's real values and
 * refuses to run if the text or the values differ.
 */
export interface PreparedQuery<Values, Row> {
  /** Runs the statement on `db` (a handle from db/kysely.ts, or a transaction of one) with these values. */
  run(db: Kysely<Schema>, values: Values): Promise<QueryResult<Row>>;
}

export function preparedQuery<Values extends Record<string, unknown>, Row>(
  build: (db: Kysely<Schema>, values: Values) => Compilable<Row>,
): PreparedQuery<Values, Row> {
  // Compiled per dialect adapter: a transaction shares its root handle's, and the text depends on the
  // dialect and the plugins. Only handles whose one plugin is the NUL guard are accepted, since a
  // plugin that changes the tree (withSchema's, say) would share the adapter and not the text. The
  // guard changes nothing in a tree; `run` applies its check to the values. Kysely marks
  // getExecutor() internal; it is how its own plugins and dialects reach the adapter.
  const compiled = new WeakMap<object, { query: CompiledQuery<Row>; checked: boolean }>();
  const compile = (db: Kysely<Schema>): CompiledQuery<Row> => {
    const asked = new Set<string>();
    // Only named reads are answered: a build that lists or spreads the stand-ins (`.values(values)`)
    // would otherwise see no columns at all and build a statement that writes none.
    const notNamed = (): never => {
      throw new TypeError('A prepared statement\'s values must be read one by one, by name.');
    };
    const standIns = new Proxy({} as Values, {
      get: (_, name) => {
        if (typeof name !== 'string') return notNamed();
        asked.add(name);
        return new Slot(name);
      },
      ownKeys: notNamed,
      has: notNamed,
      getOwnPropertyDescriptor: notNamed,
    });
    const query = build(db, standIns).compile();
    const bound = new Set(query.parameters.filter((p): p is Slot => p instanceof Slot).map((p) => p.name));
    const unbound = [...asked].filter((name) => !bound.has(name));
    // A stand-in Kysely did not bind (read by the build) would be the wrong statement.
    if (unbound.length > 0) throw new TypeError(`A prepared statement must bind each value it is given, as one value: ${unbound.join(', ')} ${unbound.length === 1 ? 'is' : 'are'} not bound.`);
    return query;
  };
  return {
    async run(db, values) {
      const executor = db.getExecutor();
      if (executor.plugins.length !== 1 || executor.plugins[0] !== nulGuard) {
        throw new TypeError('A prepared statement runs only on a handle from db/kysely.ts (or its transaction), whose one plugin is the NUL guard.');
      }
      let entry = compiled.get(executor.adapter);
      if (!entry) compiled.set(executor.adapter, (entry = { query: compile(db), checked: false }));
      const parameters = entry.query.parameters.map((parameter) => {
        if (!(parameter instanceof Slot)) return parameter;
        if (!Object.hasOwn(values, parameter.name)) throw new TypeError(`A prepared statement was run without a value for ${parameter.name}.`);
        const value = values[parameter.name];
        if (Array.isArray(value)) throw new TypeError(`A prepared statement binds one value for ${parameter.name}, not a list.`);
        refuseNul(value);
        return value;
      });
      if (checkEveryRun || !entry.checked) {
        const direct = build(db, values).compile();
        if (direct.sql !== entry.query.sql || !isDeepStrictEqual(direct.parameters, parameters)) {
          throw new TypeError('A prepared statement built with stand-ins differs from the same statement built with its values: its build must only hand each value to Kysely.');
        }
        entry.checked = true;
      }
      return db.executeQuery({ ...entry.query, parameters });
    },
  };
}

/**
 * Every column of a row read from the stand-ins by name, for an insert's `.values()`: `columns` names
 * each column once (the compiler checks that none is missing or extra), so a column list is not
 * written out twice, once to build the statement and once for each call's values.
 */
export function standInColumns<Row extends Record<string, unknown>>(values: Row, columns: { readonly [K in keyof Row]-?: true }): Row {
  return Object.fromEntries(Object.keys(columns).map((column) => [column, values[column]])) as Row;
}
