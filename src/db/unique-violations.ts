// Which driver error is the database refusing a row because one of its unique columns already holds the
// value. Not translated for every statement (db/driver-errors.ts leaves them alone on purpose: a unique
// violation can be a bug, which must stay an internal error and be seen); each repository whose insert
// races a service's "is it taken?" check asks this about its own constraint and says AlreadyExistsError.
import { LiveNameTakenError } from '../domain/errors.js';
import { LIVE_NAME_INDEXES } from './migrations/202612200000_live_names_unique.js';
import { LIVE_NAME_KEY_INDEXES } from './migrations/202612260000_live_name_keys.js';

/**
 * Whether `error` is a unique violation of `table`.`column` (a single-column UNIQUE constraint):
 * SQLite's SQLITE_CONSTRAINT_UNIQUE naming the column, PostgreSQL's 23505 naming the constraint as
 * PostgreSQL names a column's own UNIQUE (`<table>_<column>_key`, as the migrations create them).
 */
export function violatesUnique(error: unknown, table: string, column: string): boolean {
  const failure = error as { code?: unknown; message?: unknown; constraint?: unknown } | null;
  if (failure?.code === 'SQLITE_CONSTRAINT_UNIQUE') return failure.message === `UNIQUE constraint failed: ${table}.${column}`;
  if (failure?.code === '23505') return failure.constraint === `${table}_${column}_key`;
  return false;
}

/**
 * Whether `error` is a unique violation of the unique index `index` on `table`'s `columns` (a partial one, say):
 * SQLite names the columns (`UNIQUE constraint failed: t.a, t.b`), PostgreSQL the index.
 */
export function violatesUniqueIndex(error: unknown, key: { index: string; table: string; columns: readonly string[] }): boolean {
  const failure = error as { code?: unknown; message?: unknown; constraint?: unknown } | null;
  if (failure?.code === 'SQLITE_CONSTRAINT_UNIQUE') return failure.message === `UNIQUE constraint failed: ${key.columns.map((c) => `${key.table}.${c}`).join(', ')}`;
  if (failure?.code === '23505') return failure.constraint === key.index;
  return false;
}

/**
 * Runs a write that gives a document or collection a name, place or life (`kind`'s live-name indexes, migration
 * 202612200000, and their siblings on the name key that hold names differing only in case to one, 202612260000): the database refusing a second live holder of the name, a race the claim missed or a path that
 * forgot to claim, is LiveNameTakenError (409), never a 500.
 */
export async function givingLiveName<T>(kind: 'document' | 'collection', write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const keys = kind === 'document'
      ? [LIVE_NAME_INDEXES.documents, LIVE_NAME_KEY_INDEXES.documents]
      : [LIVE_NAME_INDEXES.children, LIVE_NAME_INDEXES.top, LIVE_NAME_KEY_INDEXES.children, LIVE_NAME_KEY_INDEXES.top];
    throw keys.some((key) => violatesUniqueIndex(error, key)) ? new LiveNameTakenError({ cause: error }) : error;
  }
}
