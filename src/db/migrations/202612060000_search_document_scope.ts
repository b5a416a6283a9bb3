// PostgreSQL's search reads the readable scope from each indexed document's own search_documents
// row: a copy of the documents columns the scope and filters test (status, deletion, organisation,
// collection, service area, classification, arrangement, last change) and of the indexed version's
// scan status. Without it a search looked up every matching document in `documents` and every readable
// one in `search_documents` and `versions`, three index lookups a match, and at 100,000 documents a
// common word's thousands of matches spent about half of the search there (docs/performance.md "Search").
//
// The copy is kept by the database itself, not by the application: triggers on documents, versions and
// search_documents write it in the same transaction as the change, so every statement sees the copy
// and the documents row alike (a move, reclassification, deletion or quarantine counts on the next
// search, as before) and no write path, present or future, can forget it. A search_documents row whose
// document or version is missing gets nulls, which no scope matches. SQLite keeps reading `documents`:
// its plan meets the aim without a copy.
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

/** The documents columns copied, as search_documents' `doc_<column>`. */
const COPIED = ['organisation_id', 'collection_id', 'service_area', 'classification', 'arrangement_id', 'status', 'updated_at', 'deleted_at'] as const;

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  if (caps.dialect !== 'postgres') return;
  const columns = COPIED.map((c) => `doc_${c}`);
  await sql.raw(`alter table search_documents ${[...columns, 'version_scan_status'].map((c) => `add column ${c} text`).join(', ')}`).execute(db);

  // The triggers below keep the copy right only under READ COMMITTED, where each of their statements
  // sees what other transactions committed up to that moment (under REPEATABLE READ a document's
  // change would miss an index row committed after its snapshot). Strongroom writes under READ
  // COMMITTED, PostgreSQL's default; a server or role configured otherwise is refused, loudly,
  // rather than left with a stale copy.
  await sql`create function search_scope_require_read_committed() returns void language plpgsql as $$
    begin
      if current_setting('transaction_isolation') <> 'read committed' then
        raise exception 'Strongroom changes documents only under READ COMMITTED isolation, not %', current_setting('transaction_isolation')
          using hint = 'Remove default_transaction_isolation from the server, database or role settings (docs/operations.md, PostgreSQL).';
      end if;
    end $$`.execute(db);

  // A new or re-pointed index row takes its document's and version's values, read under a share
  // lock. Without it, a change committed while the index row is written could be lost: under READ
  // COMMITTED the writer's trigger cannot see the index row before the indexing transaction commits,
  // and the indexing transaction cannot see the writer's change before the writer commits. With it,
  // whichever comes second waits for the first and then reads its result. NOWAIT: a writer holding
  // the row may go on to lock the index row this transaction has just deleted, and waiting here would
  // deadlock; the insert fails at once instead (55P03). The adapter (PostgresSearchIndex
  // .replaceDocument) takes both locks itself, document then version, before it deletes anything,
  // so this only refuses an index row written some other way while its document is being changed.
  await sql.raw(`create function search_documents_scope_fill() returns trigger language plpgsql as $$
    begin
      perform search_scope_require_read_committed();
      select ${COPIED.map((c) => `d.${c}`).join(', ')} into ${columns.map((c) => `new.${c}`).join(', ')}
        from documents d where d.id = new.document_id for share nowait;
      select v.scan_status into new.version_scan_status
        from versions v where v.id = new.version_id and v.document_id = new.document_id for share nowait;
      return new;
    end $$`).execute(db);
  await sql`create trigger search_documents_scope_fill before insert or update of document_id, version_id on search_documents
    for each row execute function search_documents_scope_fill()`.execute(db);

  // A document's change reaches its index row in the same transaction; a removed (or re-keyed)
  // document leaves nulls. Rows already equal are not written again.
  await sql.raw(`create function documents_search_scope_sync() returns trigger language plpgsql as $$
    begin
      perform search_scope_require_read_committed();
      if tg_op = 'DELETE' or (tg_op = 'UPDATE' and old.id <> new.id) then
        update search_documents set ${columns.map((c) => `${c} = null`).join(', ')} where document_id = old.id;
      end if;
      if tg_op <> 'DELETE' then
        update search_documents set (${columns.join(', ')}) = (${COPIED.map((c) => `new.${c}`).join(', ')})
          where document_id = new.id and (${columns.join(', ')}) is distinct from (${COPIED.map((c) => `new.${c}`).join(', ')});
      end if;
      return null;
    end $$`).execute(db);
  await sql.raw(`create trigger documents_search_scope_sync after insert or delete or update of ${COPIED.join(', ')}, id on documents
    for each row execute function documents_search_scope_sync()`).execute(db);

  // The indexed version's scan status: a version found infected on a rescan leaves results at once.
  // Before changing the copy it locks the document's row: every transaction takes a document before
  // its versions and its index row (DocumentsRepository.updateVersionScan already has), and a version
  // changed some other way must not lock the index row first and then wait for its document.
  await sql`create function versions_search_scope_sync() returns trigger language plpgsql as $$
    begin
      perform search_scope_require_read_committed();
      if tg_op = 'DELETE' or (tg_op = 'UPDATE' and (old.id <> new.id or old.document_id <> new.document_id)) then
        update search_documents set version_scan_status = null where version_id = old.id;
      end if;
      if tg_op <> 'DELETE' and exists (select 1 from search_documents
          where version_id = new.id and document_id = new.document_id and version_scan_status is distinct from new.scan_status) then
        perform 1 from documents where id = new.document_id for no key update;
        update search_documents set version_scan_status = new.scan_status
          where version_id = new.id and document_id = new.document_id and version_scan_status is distinct from new.scan_status;
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger versions_search_scope_sync after insert or delete or update of scan_status, id, document_id on versions
    for each row execute function versions_search_scope_sync()`.execute(db);

  // Existing rows, as the fill trigger would have made them.
  await sql.raw(`update search_documents sd set ${COPIED.map((c) => `doc_${c} = d.${c}`).join(', ')}
    from documents d where d.id = sd.document_id`).execute(db);
  await sql`update search_documents sd set version_scan_status = v.scan_status
    from versions v where v.id = sd.version_id and v.document_id = sd.document_id`.execute(db);
}
