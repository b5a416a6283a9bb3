// A statement that every request runs, built and compiled once and then run with each call's values.
// Kysely builds a tree of frozen objects and compiles it to SQL on every call: 25-60 µs a statement
// on this machine, a sixth of a small download's CPU across the statements it runs
// (docs/performance.md "Statements compiled once"). The statements here are built once per
// dialect with stand-ins for their values, and each call swaps its own values in.
import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import { refuseNul } from './nul-guard.js';
import type { Schema } from './schema.js';

/** Stands in for one named value while the statement is built; never sent to the database. */
class Slot {
  constructor(readonly name: string) {}
}

/**
 * A statement whose shape is fixed and whose values change. `build` receives stand-ins for the
 * values (typed as the values, so Kysely checks them as usual) and must only hand them to Kysely:
 * a stand-in is not the value, so a build that branches on one (`if (values.limit)`) or reads into
 * it would build the wrong statement. A value must be one bound value; a list is refused at run time,
 * since the statement's text has room for exactly one (`in (?)` has as many `?` as the list built
 * with). Write a statement whose shape depends on its values with Kysely's builder as usual.
 */
export interface PreparedQuery<Values, Row> {
  /** Runs the statement on `db` (the root handle or a transaction) with these values. */
  run(db: Kysely<Schema>, values: Values): Promise<QueryResult<Row>>;
}

export function preparedQuery<Values extends Record<string, unknown>, Row>(
  build: (db: Kysely<Schema>, values: Values) => Compilable<Row>,
): PreparedQuery<Values, Row> {
  // Compiled per dialect adapter: a transaction shares its root handle's, and the text depends on
  // the dialect alone. The one plugin every handle has (the NUL guard) changes nothing in a tree; it
  // looked at the stand-ins when this was compiled, and looks at the real values in `run`.
  const compiled = new WeakMap<object, CompiledQuery<Row>>();
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
    // A stand-in Kysely did not bind (written into the text, or read by the build) would be the
    // wrong statement: refuse it when first compiled, which every test of the statement does.
    if (unbound.length > 0) throw new TypeError(`A prepared statement must bind each value it is given, as one value: ${unbound.join(', ')} ${unbound.length === 1 ? 'is' : 'are'} not bound.`);
    return query;
  };
  return {
    async run(db, values) {
      const adapter = db.getExecutor().adapter;
      let query = compiled.get(adapter);
      if (!query) compiled.set(adapter, (query = compile(db)));
      const parameters = query.parameters.map((parameter) => {
        if (!(parameter instanceof Slot)) return parameter;
        const value = values[parameter.name];
        if (Array.isArray(value)) throw new TypeError(`A prepared statement binds one value for ${parameter.name}, not a list.`);
        refuseNul(value);
        return value;
      });
      return db.executeQuery({ ...query, parameters });
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
