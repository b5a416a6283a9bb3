// The one status a document leaves every listing and name claim with, as SQL.
import { sql } from 'kysely';

/**
 * 'disposed' written into the statement as a literal, never bound as a parameter. The live-name index
 * (migration 202612200000) is partial on `status <> 'disposed'`; where a query has a parameter in that
 * place, SQLite reads the value bound to it to decide whether the index applies, and so prepares the
 * statement afresh whenever that parameter is bound, which better-sqlite3 does on every run: about 50 µs
 * of CPU a run here, and the name every upload claims was such a statement (docs/performance.md, "A
 * statement prepared on every run"; src/db/statements-prepared-once.int.test.ts).
 */
export const DISPOSED = sql.lit<'disposed'>('disposed');
