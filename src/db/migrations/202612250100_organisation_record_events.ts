// An organisation's record-keeping events (its holds, its folders' placements, its disposal decisions, the
// subject access requests it opened or was asked to search) read from an index of those events alone, not
// picked out of every event of the organisation. The daily bin purge reads the organisation's hold and folder
// events for each page it purges, a disposal batch its disposal and hold events, and a subject access
// request's every page whether the log records its opening; each was found by (target organisation, …) among
// all of the organisation's events, every read of every document included: the audit log is the vault's
// largest table, so each read cost the council's whole history on the main connection. The events named are
// rare (a person's decision each), so the index is small and an event of another action writes nothing to it.
import { sql, type Kysely } from 'kysely';

export const ORGANISATION_RECORD_EVENTS_MIGRATION = '202612250100_organisation_record_events';

/** The actions the index holds, as it was built: a new one read by organisation needs a migration that rebuilds it. */
export const ORGANISATION_RECORD_ACTIONS: readonly string[] = [
  'records.hold.create', 'records.hold.add', 'records.hold.release', 'collection.create', 'collection.move', 'disposal.decide', 'disposal.approve',
  'subject-access.open', 'subject-access.ask',
];

/**
 * The index's condition, written as a read of such events repeats it (db/repos/audit.repo.ts allowedEvents), as
 * SQLite uses a partial index only for a query that has its WHERE term as one of its own. Literals, not
 * parameters: SQLite would otherwise prepare the statement again at every run (db/repos/disposed-status.ts).
 */
export const ORGANISATION_RECORD_EVENT = sql<boolean>`action in (${sql.join(ORGANISATION_RECORD_ACTIONS.map((a) => sql.lit(a)))})`;

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('audit_events_organisation_records').on('audit_events').columns(['target_organisation_id', 'action']).where(ORGANISATION_RECORD_EVENT).execute();
}
