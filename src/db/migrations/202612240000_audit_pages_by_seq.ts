// An organisation's audit page read from its own events in log order, not sorted from all of them. The audit
// API and the Audit page ask for one organisation's events (those it is the target or the actor of) in seq
// order, a page at a time; the only indexes were by (organisation, time), so both databases fetched every
// event the organisation ever had and sorted them to return the first page: about 2 s on the main connection
// for an organisation with a million events, at every page of every client. With (organisation, seq) for
// each side and (document, seq) for a document's history, a page reads the rows it returns.
import type { Kysely } from 'kysely';

export const AUDIT_PAGES_BY_SEQ_MIGRATION = '202612240000_audit_pages_by_seq';

export const AUDIT_SEQ_INDEXES = ['audit_events_target_seq', 'audit_events_actor_seq', 'audit_events_document_seq'] as const;

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('audit_events_target_seq').on('audit_events').columns(['target_organisation_id', 'seq']).execute();
  await db.schema.createIndex('audit_events_actor_seq').on('audit_events').columns(['actor_organisation_id', 'seq']).execute();
  await db.schema.createIndex('audit_events_document_seq').on('audit_events').columns(['document_id', 'seq']).execute();
  // (document, seq) serves every read (document, time) did, none of which asks for a document's time range: one
  // index fewer for every event to write. The (organisation, time) ones stay for the audit page's time windows.
  await db.schema.dropIndex('audit_events_document').execute();
}
