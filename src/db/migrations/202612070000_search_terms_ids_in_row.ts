// search_terms keeps its tsvectors out of the row so a match reads many narrow rows a page
// (toast_tuple_target = 128, migration 202612050000). But PostgreSQL's toaster goes on moving the
// widest remaining column out of line until the row fits under that target: with the server's
// 36-character ids the row was still about 146 bytes once both tsvectors were out, so document_id
// went out of line too, and every matching row's document id was read back from TOAST (an index
// lookup and a chunk, several times per row as it was hashed and compared). STORAGE MAIN keeps both
// ids in the row: MAIN is moved out only when a row passes about 8 kB, which these never do.
//
// Rows already written keep their out-of-line ids until they are written again, so the table is
// rewritten here, in section order (CLUSTER, which re-stores every row under the new settings and
// rebuilds the indexes; allowed in a transaction when the table is named). It locks search_terms
// while it runs (131 s at 100,000 documents on a 2-core machine, a sixth of building that index)
// and needs free disk for the new copy: docs/operations.md "PostgreSQL".
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  if (caps.dialect !== 'postgres') return;
  await sql`alter table search_terms alter column document_id set storage main, alter column organisation_id set storage main`.execute(db);
  // An empty table has nothing to rewrite (and CLUSTER would record it as analysed and empty).
  const written = await sql<{ any: boolean }>`select exists (select 1 from search_terms) as any`.execute(db);
  if (written.rows[0]!.any) await sql`cluster search_terms using search_terms_section`.execute(db);
}
