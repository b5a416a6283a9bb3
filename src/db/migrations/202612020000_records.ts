// Records management: the file plan (record series and their revisions), the series collections and
// documents are filed under, retention events, legal holds, disposal review batches, certificates of
// destruction and the stubs destroyed documents leave behind.
// documents.legal_hold (a flag from the first schema) is no longer written: holds live in legal_holds.
import type { Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  await db.schema
    .createTable('record_series')
    .addColumn('organisation_id', 'text', (c) => c.notNull().references('organisations.id'))
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('service_area', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('retain_years', 'integer', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('authority', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('record_series_pk', ['organisation_id', 'code'])
    .execute();
  await db.schema
    .createTable('record_series_revisions')
    .addColumn('organisation_id', 'text', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('snapshot', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('changed_by', 'text')
    .addColumn('changed_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('record_series_revisions_pk', ['organisation_id', 'code', 'revision'])
    .execute();

  await db.schema.alterTable('collections').addColumn('series_code', 'text').execute();
  await db.schema.alterTable('documents').addColumn('series_code', 'text').execute();
  // An extension set at disposal review: the document's new due date (YYYY-MM-DD).
  await db.schema.alterTable('documents').addColumn('retain_until', 'text').execute();

  await db.schema
    .createTable('retention_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organisation_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('event_date', 'text', (c) => c.notNull())
    .addColumn('document_id', 'text')
    .addColumn('collection_id', 'text')
    .addColumn('recorded_by', 'text')
    .addColumn('recorded_at', 'text', (c) => c.notNull())
    .addColumn('cleared_at', 'text')
    .addColumn('cleared_by', 'text')
    .execute();
  await db.schema.createIndex('retention_events_document').on('retention_events').column('document_id').execute();
  await db.schema.createIndex('retention_events_collection').on('retention_events').column('collection_id').execute();

  await db.schema
    .createTable('legal_holds')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organisation_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('reference', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('released_at', 'text')
    .addColumn('released_by', 'text')
    .addColumn('release_reason', 'text')
    .execute();
  await db.schema.createIndex('legal_holds_organisation').on('legal_holds').column('organisation_id').execute();
  await db.schema
    .createTable('legal_hold_items')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('hold_id', 'text', (c) => c.notNull().references('legal_holds.id'))
    .addColumn('organisation_id', 'text', (c) => c.notNull())
    .addColumn('document_id', 'text')
    .addColumn('collection_id', 'text')
    .addColumn('added_by', 'text')
    .addColumn('added_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('legal_hold_items_document').on('legal_hold_items').column('document_id').execute();
  await db.schema.createIndex('legal_hold_items_collection').on('legal_hold_items').column('collection_id').execute();
  await db.schema.createIndex('legal_hold_items_hold').on('legal_hold_items').column('hold_id').execute();

  await db.schema
    .createTable('disposal_batches')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organisation_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('due_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('approved_at', 'text')
    .addColumn('approved_by', 'text')
    .addColumn('executed_at', 'text')
    .addColumn('certificate_id', 'text')
    .execute();
  await db.schema.createIndex('disposal_batches_organisation').on('disposal_batches').columns(['organisation_id', 'status']).execute();
  await db.schema
    .createTable('disposal_items')
    .addColumn('batch_id', 'text', (c) => c.notNull().references('disposal_batches.id'))
    .addColumn('document_id', 'text', (c) => c.notNull())
    .addColumn('series_code', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('trigger_date', 'text', (c) => c.notNull())
    .addColumn('due_at', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('excluded_by', 'text', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'text')
    .addColumn('extend_to', 'text')
    .addColumn('reason', 'text')
    .addColumn('outcome', 'text')
    .addColumn('executed_at', 'text')
    .addPrimaryKeyConstraint('disposal_items_pk', ['batch_id', 'document_id'])
    .execute();
  await db.schema.createIndex('disposal_items_document').on('disposal_items').column('document_id').execute();

  await db.schema
    .createTable('disposal_certificates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('batch_id', 'text', (c) => c.notNull().unique())
    .addColumn('organisation_id', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'text', (c) => c.notNull())
    // The certificate as issued (JSON), with its proofs and signed checkpoint: it is the record.
    .addColumn('body', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('disposal_stubs')
    .addColumn('document_id', 'text', (c) => c.primaryKey())
    .addColumn('organisation_id', 'text', (c) => c.notNull())
    .addColumn('series_code', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('disposed_at', 'text', (c) => c.notNull())
    .addColumn('name_sha256', 'text', (c) => c.notNull())
    .addColumn('total_bytes', caps.bigint, (c) => c.notNull())
    .addColumn('version_count', 'integer', (c) => c.notNull())
    .addColumn('batch_id', 'text')
    .addColumn('certificate_id', 'text')
    .execute();
}
