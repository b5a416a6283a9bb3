// SQLite's query compiler, with a row limit or offset that is a number written into the statement
// rather than bound. SQLite reads the value bound to a LIMIT or OFFSET parameter while it plans, and
// so marks the statement to be prepared afresh whenever that parameter is bound, which better-sqlite3
// does on every run: the active key an upload wraps its file's key with, `… order by created_at desc
// limit ?`, took 94 µs a run where the same statement with `limit 1` takes a fraction of that
// (docs/performance.md, "A statement prepared on every run"). A number cannot carry SQL, and is
// written only when it is a safe integer; anything else (a prepared statement's stand-in, a string)
// is bound as before.
import { SqliteDialect, SqliteQueryCompiler, ValueNode, type LimitNode, type OffsetNode, type OperationNode } from 'kysely';

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
