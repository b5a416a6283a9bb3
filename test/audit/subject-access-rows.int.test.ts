// A database administrator (any row, but neither the master key nor the signing key) changes the answer to
// a subject access request without anyone deciding it: a record put in the response or taken out, the
// request re-dated, marked extended, closed or reopened, or a council given a part (its DPOs then see who
// the request is about) by writing the rows. `audit verify` must name each such row, and must not name
// what DPOs did through the REST API: opening, asking a partner, including and taking out records,
// marking a search finished, extending and closing.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { DIALECTS, createOrganisation, createPartnership, openTestVault, upload, type TestVault } from '../support/vault.js';

const clamd = useClamd();
const DIRECT = 'it was changed in the database directly, not by Strongroom.';
const DELETED = 'it was deleted in the database directly, not by Strongroom.';

describe.each(DIALECTS)('audit verify and subject access rows written in the database on %s', (dialect) => {
  let t: TestVault | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /**
   * The partner council's DPO opens request "open" and asks the host (which runs its payroll); the host's
   * DPO includes one record and marks the search finished; the partner's DPO includes two and takes one
   * out. Request "closed" is opened with no partner, given one record, extended and closed as disclosed.
   */
  async function setting() {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
    const v = t;
    const { host, partner } = await createPartnership(v.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const stranger = await createOrganisation(v.vault);
    const dpo = await partner.user({ roles: ['dpo'], teams: ['payroll'] });
    const hostDpo = await host.user({ roles: ['dpo'], teams: ['payroll'] });
    const partnerStaff = await partner.user({ teams: ['payroll'] });
    const hostStaff = await host.user({ teams: ['payroll'] });
    const uploaded = async (user: typeof dpo, collectionId: string, name: string) => {
      const up = await upload(v.app, user, collectionId, name, `${name}, Sam Smith\n`);
      expect(up.statusCode, up.body).toBe(201);
      return up.json().id as string;
    };
    const own = await uploaded(partnerStaff, partner.collections.payroll!, 'payslip-march.txt');
    const extra = await uploaded(partnerStaff, partner.collections.payroll!, 'payslip-april.txt');
    const held = await uploaded(hostStaff, host.collections.payroll!, 'overtime-claims.txt');
    const opened = async (partners: string[]) => {
      const res = await api(v.app, dpo).post('subject-access', { reference: `SAR-${randomUUID().slice(0, 6)}`, subjectName: 'Sam Smith', receivedOn: '2026-10-31', partners });
      expect(res.statusCode, res.body).toBe(201);
      return res.json().id as string;
    };
    const include = async (user: typeof dpo, requestId: string, documentId: string) => {
      const res = await api(v.app, user).post(`subject-access/${requestId}/items`, { documentIds: [documentId] });
      expect(res.statusCode, res.body).toBe(200);
      return (res.json().items as { id: string; documentId: string }[]).find((i) => i.documentId === documentId)!.id;
    };

    const open = await opened([host.slug]);
    const heldItem = await include(hostDpo, open, held);
    expect((await api(v.app, hostDpo).post(`subject-access/${open}/searched`, {})).statusCode).toBe(200);
    const ownItem = await include(dpo, open, own);
    const removedItem = await include(dpo, open, extra);
    expect((await api(v.app, dpo).delete(`subject-access/${open}/items/${removedItem}`)).statusCode).toBe(204);

    const closed = await opened([]);
    await include(dpo, closed, own);
    expect((await api(v.app, dpo).post(`subject-access/${closed}/extend`, { reason: 'Records in several payroll systems' })).statusCode).toBe(200);
    expect((await api(v.app, dpo).post(`subject-access/${closed}/close`, { outcome: 'disclosed' })).statusCode).toBe(200);

    const db = v.vault.store.db;
    const setRequest = (id: string, values: Record<string, string | null>) => db.updateTable('subject_access_requests').set(values).where('id', '=', id).execute();
    const setItem = (id: string, values: Record<string, string | null>) => db.updateTable('subject_access_items').set(values).where('id', '=', id).execute();
    const parts = (requestId: string) => v.vault.store.repos.subjectAccess.parts(requestId);
    const items = (requestId: string) => v.vault.store.repos.subjectAccess.items(requestId);
    const verify = () => v.vault.audit.verification.verify(systemActor());
    const expectNamed = async (problem: string) => {
      const check = await verify();
      expect(check.ok ? '(verified)' : check.problem).toBe(problem);
    };
    return { v, db, host, partner, stranger, dpo, hostDpo, held, own, open, closed, heldItem, ownItem, removedItem, setRequest, setItem, parts, items, verify, expectNamed };
  }

  it('vouches for every row DPOs made through the API', async () => {
    const s = await setting();
    expect((await s.parts(s.open)).map((p) => p.organisationId).sort()).toEqual([s.host.id, s.partner.id].sort());
    expect((await s.items(s.open)).filter((i) => i.removedAt !== null).map((i) => i.id)).toEqual([s.removedItem]);
    expect(await s.v.vault.store.repos.subjectAccess.request(s.closed)).toMatchObject({ status: 'closed', outcome: 'disclosed', extendedDueOn: '2027-02-01' });
    await s.v.vault.audit.sequencer.flush();
    expect(await s.verify()).toMatchObject({ ok: true });
  });

  it('names a request written by hand, and one re-dated, re-owned or given to another opener', async () => {
    const s = await setting();
    const forged = randomUUID();
    await s.db.insertInto('subject_access_requests').values({
      id: forged, organisation_id: s.partner.id, reference: 'SAR-FORGED', subject_name: 'Sam Smith', subject_details: '', received_on: '2026-10-31', due_on: '2026-11-30',
      extended_due_on: null, extension_reason: null, status: 'open', outcome: null, close_note: null, opened_by: s.dpo.id, opened_at: new Date().toISOString(), closed_by: null, closed_at: null,
    }).execute();
    await s.expectNamed(`Subject access request ${forged} (organisation ${s.partner.id}) matches no recorded opening: ${DIRECT}`);
    await s.db.deleteFrom('subject_access_requests').where('id', '=', forged).execute();

    await s.setRequest(s.open, { due_on: '2027-03-31' });
    await s.expectNamed(`Subject access request ${s.open} is due on 2027-03-31, but the audit log records it opened due on 2026-11-30: ${DIRECT}`);
    await s.setRequest(s.open, { due_on: '2026-11-30' });
    await s.setRequest(s.open, { organisation_id: s.host.id });
    await s.expectNamed(`Subject access request ${s.open} is organisation ${s.host.id}'s, but the audit log records it opened by organisation ${s.partner.id}: ${DIRECT}`);
    await s.setRequest(s.open, { organisation_id: s.partner.id });
    await s.setRequest(s.open, { opened_by: s.hostDpo.id });
    await s.expectNamed(`Subject access request ${s.open} says person ${s.hostDpo.id} opened it, but the audit log records person ${s.dpo.id}: ${DIRECT}`);
    await s.setRequest(s.open, { opened_by: s.dpo.id });
    expect(await s.verify()).toMatchObject({ ok: true });
  });

  it('names an extension and a closing written by hand, changed, or undone', async () => {
    const s = await setting();
    await s.setRequest(s.open, { extended_due_on: '2027-06-30', extension_reason: 'Written in by hand here' });
    await s.expectNamed(`Subject access request ${s.open} is marked extended to 2027-06-30, which no audit event records: ${DIRECT}`);
    await s.setRequest(s.open, { extended_due_on: null, extension_reason: null });
    await s.setRequest(s.closed, { extended_due_on: '2027-06-30' });
    await s.expectNamed(`Subject access request ${s.closed} is extended to 2027-06-30, but the audit log records it extended to 2027-02-01: ${DIRECT}`);
    await s.setRequest(s.closed, { extended_due_on: null });
    await s.expectNamed(`Subject access request ${s.closed} was extended to 2027-02-01 (the audit log records it) but its row says it is not: ${DIRECT}`);
    await s.setRequest(s.closed, { extended_due_on: '2027-02-01' });

    // Closed by hand: the package can no longer be changed, and the holds would be released by the next honest step.
    const at = new Date().toISOString();
    await s.setRequest(s.open, { status: 'closed', outcome: 'nothing-held', closed_by: s.dpo.id, closed_at: at });
    await s.expectNamed(`Subject access request ${s.open} is marked closed (nothing-held), which no audit event records: ${DIRECT}`);
    await s.setRequest(s.open, { status: 'open', outcome: null, closed_by: null, closed_at: null });
    const closedAt = (await s.v.vault.store.repos.subjectAccess.request(s.closed))!.closedAt;
    await s.setRequest(s.closed, { status: 'open', outcome: null, closed_by: null, closed_at: null });
    await s.expectNamed(`Subject access request ${s.closed} was closed as disclosed (the audit log records it) but its row says it is open: ${DIRECT}`);
    await s.setRequest(s.closed, { status: 'closed', outcome: 'refused', closed_by: s.dpo.id, closed_at: closedAt });
    await s.expectNamed(`Subject access request ${s.closed} is closed as refused, but the audit log records it closed as disclosed: ${DIRECT}`);
    await s.setRequest(s.closed, { outcome: 'disclosed' });
    expect(await s.verify()).toMatchObject({ ok: true });
  });

  it('names a part given to a council no one asked, one re-pointed at another hold, and one deleted', async () => {
    const s = await setting();
    const at = new Date().toISOString();
    await s.db.insertInto('subject_access_parts').values({ request_id: s.open, organisation_id: s.stranger.id, asked_by: s.dpo.id, asked_at: at, hold_id: null, searched_at: null, searched_by: null }).execute();
    await s.expectNamed(`Organisation ${s.stranger.id}'s part in subject access request ${s.open} matches no recorded asking: ${DIRECT}`);
    await s.db.deleteFrom('subject_access_parts').where('request_id', '=', s.open).where('organisation_id', '=', s.stranger.id).execute();

    // Re-pointed at another hold, closing the request would release that one.
    const ownPart = (await s.parts(s.open)).find((p) => p.organisationId === s.partner.id)!;
    const otherHold = (await s.parts(s.closed))[0]!.holdId!;
    const setHold = (holdId: string | null) => s.db.updateTable('subject_access_parts').set({ hold_id: holdId }).where('request_id', '=', s.open).where('organisation_id', '=', s.partner.id).execute();
    await setHold(otherHold);
    await s.expectNamed(`Organisation ${s.partner.id}'s part in subject access request ${s.open} names legal hold ${otherHold}, which the audit log does not record placed for it: ${DIRECT}`);
    await setHold(ownPart.holdId);

    const hostPart = (await s.parts(s.open)).find((p) => p.organisationId === s.host.id)!;
    await s.db.deleteFrom('subject_access_parts').where('request_id', '=', s.open).where('organisation_id', '=', s.host.id).execute();
    await s.expectNamed(`Organisation ${s.host.id}'s part in subject access request ${s.open}, which the audit log records, has no row: ${DELETED}`);
    await s.db.insertInto('subject_access_parts').values({
      request_id: hostPart.requestId, organisation_id: hostPart.organisationId, asked_by: hostPart.askedBy, asked_at: hostPart.askedAt,
      hold_id: hostPart.holdId, searched_at: hostPart.searchedAt, searched_by: hostPart.searchedBy,
    }).execute();
    expect(await s.verify()).toMatchObject({ ok: true });
  });

  it('names a record put in or taken out of a response by hand, one changed to another version, and one deleted', async () => {
    const s = await setting();
    const version = (await s.v.vault.store.repos.documents.byId(s.held))!.currentVersionId!;
    const forged = randomUUID();
    await s.db.insertInto('subject_access_items').values({
      id: forged, request_id: s.closed, organisation_id: s.host.id, document_id: s.held, version_id: version,
      added_by: s.hostDpo.id, added_at: new Date().toISOString(), removed_by: null, removed_at: null,
    }).execute();
    await s.expectNamed(`Subject access item ${forged} (document ${s.held}, version ${version}, in organisation ${s.host.id}'s part of request ${s.closed}) matches no recorded inclusion: ${DIRECT}`);
    await s.db.deleteFrom('subject_access_items').where('id', '=', forged).execute();

    const otherVersion = randomUUID();
    await s.setItem(s.heldItem, { version_id: otherVersion });
    await s.expectNamed(`Subject access item ${s.heldItem} (document ${s.held}, version ${otherVersion}, in organisation ${s.host.id}'s part of request ${s.open}) matches no recorded inclusion: ${DIRECT}`);
    await s.setItem(s.heldItem, { version_id: version });

    await s.setItem(s.ownItem, { removed_by: s.dpo.id, removed_at: new Date().toISOString() });
    await s.expectNamed(`Subject access item ${s.ownItem} (document ${s.own} in subject access request ${s.open}) is marked taken out of the response by person ${s.dpo.id}, which no audit event records: ${DIRECT}`);
    await s.setItem(s.ownItem, { removed_by: null, removed_at: null });

    const removed = (await s.items(s.open)).find((i) => i.id === s.removedItem)!;
    await s.setItem(s.removedItem, { removed_by: null, removed_at: null });
    await s.expectNamed(`Subject access item ${s.removedItem} (document ${removed.documentId} in subject access request ${s.open}) was taken out of the response (the audit log records it) but its row says it is in: ${DIRECT}`);
    await s.setItem(s.removedItem, { removed_by: removed.removedBy, removed_at: removed.removedAt });

    const heldRow = (await s.items(s.open)).find((i) => i.id === s.heldItem)!;
    await s.db.deleteFrom('subject_access_items').where('id', '=', s.heldItem).execute();
    await s.expectNamed(`Subject access item ${s.heldItem} (document ${s.held} in subject access request ${s.open}), whose inclusion the audit log records, has no row: ${DELETED}`);
    await s.db.insertInto('subject_access_items').values({
      id: heldRow.id, request_id: heldRow.requestId, organisation_id: heldRow.organisationId, document_id: heldRow.documentId, version_id: heldRow.versionId,
      added_by: heldRow.addedBy, added_at: heldRow.addedAt, removed_by: null, removed_at: null,
    }).execute();
    expect(await s.verify()).toMatchObject({ ok: true });
  });
});
