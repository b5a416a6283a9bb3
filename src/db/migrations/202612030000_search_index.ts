// The search index (domain/search/repositories.ts SearchIndex). One row per indexed document (its
// version and coarse type), one row per section of its text plus one for its name (section -1), and
// the dialect's full-text structure:
// - SQLite: a contentless FTS5 table (rowid = search_sections.id) over the terms domain/search/terms.ts
//   produced, joined by spaces, so FTS5's tokeniser only splits on the spaces; the section's own text
//   (for snippets) sits in search_sections.text, inside the encrypted database file.
// - PostgreSQL: no text in clear. search_sections.text_sealed is AES-256-GCM under the organisation's
//   search text key; search_terms holds tsvectors of keyed term hashes (a blind index), split into
//   chunks so positions stay below 16,384 and each tsvector far below 1 MB.
// Organisation, collection, classification, status and deletion are read from `documents` at query
// time, so a move, reclassification or deletion takes effect on the next search without reindexing.
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  await db.schema
    .createTable('search_documents')
    .addColumn('document_id', 'text', (c) => c.primaryKey())
    .addColumn('version_id', 'text', (c) => c.notNull())
    .addColumn('organisation_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('search_documents_version').on('search_documents').column('version_id').execute();

  if (caps.dialect === 'sqlite') {
    await sql`create table search_sections (
      id integer primary key,
      document_id text not null,
      version_id text not null,
      organisation_id text not null,
      section integer not null,
      page integer,
      text text not null
    )`.execute(db);
    // Contentless (the terms are not stored twice) with deletes, so removed rows can leave the index.
    // The tokeniser sees only letters, digits and single spaces (terms.ts): 'Cn' keeps letters newer
    // than SQLite's Unicode tables inside one token, so both dialects split words the same way.
    await sql`create virtual table search_fts using fts5(
      terms,
      content='',
      contentless_delete=1,
      prefix='3 4 5',
      tokenize="unicode61 remove_diacritics 0 categories 'L* N* Co Cn'"
    )`.execute(db);
  } else {
    await sql`create table search_sections (
      id bigserial primary key,
      document_id text not null,
      version_id text not null,
      organisation_id text not null,
      section integer not null,
      page integer,
      text_sealed bytea not null
    )`.execute(db);
    await sql`create table search_terms (
      section_id bigint not null references search_sections(id) on delete cascade,
      document_id text not null,
      organisation_id text not null,
      chunk integer not null,
      tsv tsvector not null
    )`.execute(db);
    await sql`create index search_terms_tsv on search_terms using gin (tsv)`.execute(db);
    await sql`create index search_terms_document on search_terms (document_id)`.execute(db);
    await sql`create index search_terms_section on search_terms (section_id)`.execute(db);
  }
  await db.schema.createIndex('search_sections_document').on('search_sections').columns(['document_id', 'section']).execute();
  await db.schema.createIndex('search_sections_version').on('search_sections').columns(['version_id', 'section']).execute();
}
