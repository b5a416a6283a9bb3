// search_terms is rebuilt with two changes that both need every row rewritten.
//
// 1. Its document and organisation ids stay in the row. The tsvectors are kept out of the row so a
//    match reads many narrow rows a page (toast_tuple_target = 128, migration 202612050000), but
//    PostgreSQL's toaster goes on moving the widest remaining column out of line until the row fits
//    under that target: with the server's 36-character ids the row was still about 146 bytes once both
//    tsvectors were out, so document_id went out of line too, and every matching row's document id was
//    read back from TOAST (an index lookup and a chunk, several times per row as it was hashed and
//    compared). STORAGE MAIN keeps both ids in the row: MAIN is moved out only past about 8 kB.
// 2. Each row carries its section's number and page, so ranking chooses each document's best section
//    from the rows it already read instead of looking every ranked section up in search_sections.
//
// A new table is filled in section order and indexed afterwards (building an index in bulk is much
// cheaper than updating one row by row: an UPDATE adding the columns would insert every row's lexemes
// into both GIN indexes again), then takes the old one's place. search_terms is locked meanwhile, and
// the database needs free disk for the new copy: docs/operations.md "PostgreSQL".
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  if (caps.dialect !== 'postgres') return;
  await sql`create table search_terms_rebuilt (
      section_id bigint not null,
      document_id text not null,
      organisation_id text not null,
      section integer not null,
      page integer,
      chunk integer not null,
      tsv tsvector not null,
      prefixes tsvector not null
    ) with (toast_tuple_target = 128)`.execute(db);
  await sql`alter table search_terms_rebuilt
      alter column document_id set storage main, alter column organisation_id set storage main,
      alter column tsv set storage external, alter column prefixes set storage external`.execute(db);
  await sql`insert into search_terms_rebuilt (section_id, document_id, organisation_id, section, page, chunk, tsv, prefixes)
      select t.section_id, t.document_id, t.organisation_id, s.section, s.page, t.chunk, t.tsv, t.prefixes
      from search_terms t join search_sections s on s.id = t.section_id
      order by t.section_id, t.chunk`.execute(db);
  await sql`drop table search_terms`.execute(db);
  await sql`alter table search_terms_rebuilt rename to search_terms`.execute(db);
  await sql`alter table search_terms add constraint search_terms_section_id_fkey foreign key (section_id) references search_sections(id) on delete cascade`.execute(db);
  await sql`create index search_terms_tsv on search_terms using gin (tsv)`.execute(db);
  await sql`create index search_terms_prefixes on search_terms using gin (prefixes)`.execute(db);
  await sql`create index search_terms_document on search_terms (document_id)`.execute(db);
  await sql`create index search_terms_section on search_terms (section_id)`.execute(db);
}
