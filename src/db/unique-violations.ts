// Which driver error is the database refusing a row because one of its unique columns already holds the
// value. Not translated for every statement (db/driver-errors.ts leaves them alone on purpose: a unique
// violation can be a bug, which must stay an internal error and be seen); each repository whose insert
// races a service's "is it taken?" check asks this about its own constraint and says AlreadyExistsError.

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
