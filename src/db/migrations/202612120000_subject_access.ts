// Subject access requests (domain/records/subject-access.ts): the request the organisation received, one
// part per organisation asked to search its records (the requester's own included), and the records each
// part put in the response. Items are never deleted, only marked removed, so the response's history stays.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('subject_access_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organisation_id', 'text', (c) => c.notNull().references('organisations.id'))
    .addColumn('reference', 'text', (c) => c.notNull())
    .addColumn('subject_name', 'text', (c) => c.notNull())
    .addColumn('subject_details', 'text', (c) => c.notNull())
    .addColumn('received_on', 'text', (c) => c.notNull())
    .addColumn('due_on', 'text', (c) => c.notNull())
    .addColumn('extended_due_on', 'text')
    .addColumn('extension_reason', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text')
    .addColumn('close_note', 'text')
    .addColumn('opened_by', 'text')
    .addColumn('opened_at', 'text', (c) => c.notNull())
    .addColumn('closed_by', 'text')
    .addColumn('closed_at', 'text')
    .execute();
  await db.schema.createIndex('subject_access_requests_organisation').on('subject_access_requests').columns(['organisation_id', 'status']).execute();
  await db.schema
    .createTable('subject_access_parts')
    .addColumn('request_id', 'text', (c) => c.notNull().references('subject_access_requests.id'))
    .addColumn('organisation_id', 'text', (c) => c.notNull().references('organisations.id'))
    .addColumn('asked_by', 'text')
    .addColumn('asked_at', 'text', (c) => c.notNull())
    .addColumn('hold_id', 'text')
    .addColumn('searched_at', 'text')
    .addColumn('searched_by', 'text')
    .addPrimaryKeyConstraint('subject_access_parts_pk', ['request_id', 'organisation_id'])
    .execute();
  await db.schema.createIndex('subject_access_parts_organisation').on('subject_access_parts').column('organisation_id').execute();
  await db.schema
    .createTable('subject_access_items')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('request_id', 'text', (c) => c.notNull().references('subject_access_requests.id'))
    .addColumn('organisation_id', 'text', (c) => c.notNull())
    .addColumn('document_id', 'text', (c) => c.notNull())
    .addColumn('version_id', 'text', (c) => c.notNull())
    .addColumn('added_by', 'text')
    .addColumn('added_at', 'text', (c) => c.notNull())
    .addColumn('removed_by', 'text')
    .addColumn('removed_at', 'text')
    .execute();
  await db.schema.createIndex('subject_access_items_request').on('subject_access_items').columns(['request_id', 'organisation_id']).execute();
}
