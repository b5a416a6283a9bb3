// Subject access requests, their parts and the records in each response.
import { sql, type Kysely } from 'kysely';
import type { SubjectAccessRepository } from '../../domain/repositories.js';
import type { SubjectAccessItem, SubjectAccessOutcome, SubjectAccessPart, SubjectAccessRequest, SubjectAccessStatus } from '../../domain/records/subject-access.js';
import type { DialectCaps } from '../kysely.js';
import type { Schema, SubjectAccessItemsTable, SubjectAccessPartsTable, SubjectAccessRequestsTable } from '../schema.js';

const toRequest = (r: SubjectAccessRequestsTable): SubjectAccessRequest => ({
  id: r.id, organisationId: r.organisation_id, reference: r.reference, subjectName: r.subject_name, subjectDetails: r.subject_details,
  receivedOn: r.received_on, dueOn: r.due_on, extendedDueOn: r.extended_due_on, extensionReason: r.extension_reason,
  status: r.status as SubjectAccessStatus, outcome: r.outcome as SubjectAccessOutcome | null, closeNote: r.close_note,
  openedBy: r.opened_by, openedAt: r.opened_at, closedBy: r.closed_by, closedAt: r.closed_at,
});

const toPart = (r: SubjectAccessPartsTable): SubjectAccessPart => ({
  requestId: r.request_id, organisationId: r.organisation_id, askedBy: r.asked_by, askedAt: r.asked_at, holdId: r.hold_id,
  searchedAt: r.searched_at, searchedBy: r.searched_by,
});

const toItem = (r: SubjectAccessItemsTable): SubjectAccessItem => ({
  id: r.id, requestId: r.request_id, organisationId: r.organisation_id, documentId: r.document_id, versionId: r.version_id,
  addedBy: r.added_by, addedAt: r.added_at, removedBy: r.removed_by, removedAt: r.removed_at,
});

// Open first, then the soonest due (an extension's date where there is one).
const inRegisterOrder = (rows: SubjectAccessRequestsTable[]): SubjectAccessRequest[] => rows.map(toRequest).sort((a, b) =>
  (a.status === b.status ? 0 : a.status === 'open' ? -1 : 1)
  || (a.extendedDueOn ?? a.dueOn).localeCompare(b.extendedDueOn ?? b.dueOn)
  || a.openedAt.localeCompare(b.openedAt));

export class SubjectAccessRepo implements SubjectAccessRepository {
  constructor(private readonly db: Kysely<Schema>, private readonly caps: DialectCaps) {}

  async insertRequest(r: SubjectAccessRequest): Promise<void> {
    await this.db.insertInto('subject_access_requests').values({
      id: r.id, organisation_id: r.organisationId, reference: r.reference, subject_name: r.subjectName, subject_details: r.subjectDetails,
      received_on: r.receivedOn, due_on: r.dueOn, extended_due_on: r.extendedDueOn, extension_reason: r.extensionReason,
      status: r.status, outcome: r.outcome, close_note: r.closeNote, opened_by: r.openedBy, opened_at: r.openedAt, closed_by: r.closedBy, closed_at: r.closedAt,
    }).execute();
  }

  async request(id: string): Promise<SubjectAccessRequest | undefined> {
    const row = await this.db.selectFrom('subject_access_requests').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRequest(row) : undefined;
  }

  async lockRequest(id: string): Promise<SubjectAccessRequest | undefined> {
    const query = this.db.selectFrom('subject_access_requests').selectAll().where('id', '=', id);
    const row = await (this.caps.rowLocks ? query.modifyEnd(sql`for update`) : query).executeTakeFirst();
    return row ? toRequest(row) : undefined;
  }

  async requestsOf(organisationId: string): Promise<SubjectAccessRequest[]> {
    return inRegisterOrder(await this.db.selectFrom('subject_access_requests').selectAll().where('organisation_id', '=', organisationId).execute());
  }

  async requestsAskedOf(organisationId: string): Promise<SubjectAccessRequest[]> {
    const rows = await this.db.selectFrom('subject_access_requests as r')
      .innerJoin('subject_access_parts as p', 'p.request_id', 'r.id')
      .selectAll('r')
      .where('p.organisation_id', '=', organisationId)
      .where('r.organisation_id', '<>', organisationId)
      .execute();
    return inRegisterOrder(rows);
  }

  async extend(id: string, extension: { dueOn: string; reason: string }): Promise<boolean> {
    const result = await this.db.updateTable('subject_access_requests')
      .set({ extended_due_on: extension.dueOn, extension_reason: extension.reason })
      .where('id', '=', id).where('status', '=', 'open').where('extended_due_on', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async close(id: string, closing: { outcome: SubjectAccessOutcome; note: string | null; by: string | null; at: string }): Promise<boolean> {
    const result = await this.db.updateTable('subject_access_requests')
      .set({ status: 'closed', outcome: closing.outcome, close_note: closing.note, closed_by: closing.by, closed_at: closing.at })
      .where('id', '=', id).where('status', '=', 'open')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async insertPart(p: SubjectAccessPart): Promise<void> {
    await this.db.insertInto('subject_access_parts').values({
      request_id: p.requestId, organisation_id: p.organisationId, asked_by: p.askedBy, asked_at: p.askedAt, hold_id: p.holdId,
      searched_at: p.searchedAt, searched_by: p.searchedBy,
    }).execute();
  }

  async parts(requestId: string): Promise<SubjectAccessPart[]> {
    const rows = await this.db.selectFrom('subject_access_parts').selectAll().where('request_id', '=', requestId).orderBy('asked_at').orderBy('organisation_id').execute();
    return rows.map(toPart);
  }

  async setPartHold(requestId: string, organisationId: string, holdId: string): Promise<void> {
    await this.db.updateTable('subject_access_parts').set({ hold_id: holdId }).where('request_id', '=', requestId).where('organisation_id', '=', organisationId).execute();
  }

  /** From the part naming the hold (subject_access_parts_hold, migration 202612250300), not every request's parts. */
  async openRequestHolding(holdId: string): Promise<SubjectAccessRequest | undefined> {
    const row = await this.db.selectFrom('subject_access_requests as r')
      .innerJoin('subject_access_parts as p', 'p.request_id', 'r.id')
      .selectAll('r')
      .where('p.hold_id', '=', holdId)
      .where('r.status', '=', 'open')
      .orderBy('r.opened_at').orderBy('r.id')
      .executeTakeFirst();
    return row ? toRequest(row) : undefined;
  }

  async setPartSearched(requestId: string, organisationId: string, searched: { at: string; by: string | null } | null): Promise<void> {
    await this.db.updateTable('subject_access_parts').set({ searched_at: searched?.at ?? null, searched_by: searched?.by ?? null })
      .where('request_id', '=', requestId).where('organisation_id', '=', organisationId).execute();
  }

  async insertItem(i: SubjectAccessItem): Promise<void> {
    await this.db.insertInto('subject_access_items').values({
      id: i.id, request_id: i.requestId, organisation_id: i.organisationId, document_id: i.documentId, version_id: i.versionId,
      added_by: i.addedBy, added_at: i.addedAt, removed_by: i.removedBy, removed_at: i.removedAt,
    }).execute();
  }

  async items(requestId: string, organisationId?: string): Promise<SubjectAccessItem[]> {
    let query = this.db.selectFrom('subject_access_items').selectAll().where('request_id', '=', requestId);
    if (organisationId !== undefined) query = query.where('organisation_id', '=', organisationId);
    return (await query.orderBy('added_at').orderBy('id').execute()).map(toItem);
  }

  async removeItem(itemId: string, removal: { by: string | null; at: string }): Promise<boolean> {
    const result = await this.db.updateTable('subject_access_items').set({ removed_by: removal.by, removed_at: removal.at })
      .where('id', '=', itemId).where('removed_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async everyRequest(): Promise<SubjectAccessRequest[]> {
    return (await this.db.selectFrom('subject_access_requests').selectAll().orderBy('id').execute()).map(toRequest);
  }

  async everyPart(): Promise<SubjectAccessPart[]> {
    return (await this.db.selectFrom('subject_access_parts').selectAll().orderBy('request_id').orderBy('organisation_id').execute()).map(toPart);
  }

  async everyItem(): Promise<SubjectAccessItem[]> {
    return (await this.db.selectFrom('subject_access_items').selectAll().orderBy('id').execute()).map(toItem);
  }
}
