// search_terms gets two changes that both need every row rewritten.
//
// 1. Its document and organisation ids stay in the row. The tsvectors are kept out of the row so a
//    match reads many narrow rows a page (toast_tuple_target = 128, migration 202612050000), but
//    PostgreSQL's toaster goes on moving the widest remaining column out of line until the row fits
//    under that target: with the server's 36-character ids the row was still about 146 bytes once both
//    tsvectors were out, so document_id went out of line too, and every matching row's document id was
//    read back from TOAST (an index lookup and a chunk, several times per row as it was hashed and
//    compared). STORAGE PLAIN keeps both ids in the row as they are: never moved out, and never
//    compressed either (MAIN, tried first, compressed ids that happened to compress, and a search then
//    decompressed each matching row's; a random UUID does not compress, so it only cost the attempt).
// 2. Each row carries its section's number and page, so ranking chooses each document's best section
//    from the rows it already read instead of looking every ranked section up in search_sections.
//
// The table keeps its identity (grants, an operator's own indexes or views, publications): its rows
// are updated in place, then CLUSTER rewrites it without the dead rows. Both GIN indexes are dropped
// first and built again last, since an UPDATE would insert every row's lexemes into them once more and
// a bulk build is far cheaper. Writers add a section before its term rows, so the locks are taken in
// that order; searches and indexing wait until the migration commits. Every node must run this
// version before any writes the index again: docs/operations.md "Upgrading".
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  if (caps.dialect !== 'postgres') return;
  await sql`lock table search_sections in share row exclusive mode`.execute(db);
  await sql`lock table search_terms in access exclusive mode`.execute(db);
  await sql`alter table search_terms add column section integer, add column page integer,
      alter column document_id set storage plain, alter column organisation_id set storage plain`.execute(db);
  const written = await sql<{ any: boolean }>`select exists (select 1 from search_terms) as any`.execute(db);
  if (written.rows[0]!.any) {
    await sql`drop index search_terms_tsv, search_terms_prefixes`.execute(db);
    // `|| ''` makes each id a new value, so the row stores it under the new storage; an unchanged
    // value would keep its old out-of-line pointer.
    await sql`update search_terms t set section = s.section, page = s.page,
        document_id = t.document_id || '', organisation_id = t.organisation_id || ''
      from search_sections s where s.id = t.section_id`.execute(db);
    await sql`cluster search_terms using search_terms_section`.execute(db);
    await sql`create index search_terms_tsv on search_terms using gin (tsv)`.execute(db);
    await sql`create index search_terms_prefixes on search_terms using gin (prefixes)`.execute(db);
    await sql`analyze search_terms`.execute(db);
  }
  // Every row has a section (search_terms.section_id is a NOT NULL reference to one).
  await sql`alter table search_terms alter column section set not null`.execute(db);
}
