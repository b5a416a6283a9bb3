// SQLite's query compiler, with a row limit or offset that is a number written into the statement
// rather than bound. SQLite reads the value bound to a LIMIT or OFFSET parameter while it plans, and
// so marks the statement to be prepared afresh whenever that parameter is bound, which better-sqlite3
// does on every run: the active key an upload wraps its file's key with, `… order by created_at desc
// limit ?`, took 94 µs a run where the same statement with `limit 1` takes a fraction of that
// (docs/performance.md, "A statement prepared on every run"). A number cannot carry SQL, and is
// written only when it is a safe integer; anything else (a prepared statement's stand-in, a string)
// is bound as before.
//
// A count a client chooses is bound all the same (boundCount): each count written would be a statement
// text of its own, and the server's statement cache (kysely.ts withStatementCache, 500 statements) is
// shared by every organisation, so a client stepping through hundreds of counts would push out the
// statements everyone else's uploads and downloads run (test/audit/client-limit-statements.int.test.ts).
import { SqliteDialect, SqliteQueryCompiler, ValueNode, sql, type Expression, type LimitNode, type OffsetNode, type OperationNode } from 'kysely';

/**
 * A row limit or offset a client chose (a page size from a query string), bound as a parameter on every
 * dialect rather than written into the statement: the statement's text stays one however many counts are
 * asked for. For counts the code itself fixes, pass the number.
 */
export function boundCount(count: number): Expression<number> {
  return sql<number>`${count}`;
}

/** The count a LIMIT or OFFSET holds, when it is a plain number that may be written as it is. */
function literalCount(node: OperationNode): number | undefined {
  if (!ValueNode.is(node)) return undefined;
  const { value } = node;
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

export class LiteralLimitSqliteQueryCompiler extends SqliteQueryCompiler {
  protected override visitLimit(node: LimitNode): void {
    const count = literalCount(node.limit);
    if (count === undefined) super.visitLimit(node);
    else this.append(`limit ${count}`);
  }

  protected override visitOffset(node: OffsetNode): void {
    const count = literalCount(node.offset);
    if (count === undefined) super.visitOffset(node);
    else this.append(`offset ${count}`);
  }
}

/** Kysely's SQLite dialect with that compiler. */
export class LiteralLimitSqliteDialect extends SqliteDialect {
  override createQueryCompiler(): SqliteQueryCompiler {
    return new LiteralLimitSqliteQueryCompiler();
  }
}
