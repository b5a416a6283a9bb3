// A records change is decided again inside the transaction that writes it, on the actor as that transaction reads
// them (services/decided-within.ts): a records manager or DPO whose role an org admin took away, or whom an org
// admin switched off, after the change was first decided and before its transaction, is refused. Each case: the
// admin's change lands just before the service opens its transaction (test/support/meanwhile.ts); the answer is
// the exact error (404 as for an unknown id once the role is gone; 401 "switched off" once switched off), the
// refusal is the person's only event (deny, with decide()'s reason or account_disabled), and no records row changed.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DomainError, notFound } from '../../src/domain/errors.js';
import type { Actor } from '../../src/domain/types.js';
import { actorFor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { beforeNextTransaction, changePerson, type ChangeMeanwhile } from '../support/meanwhile.js';
import { HR_03, fileCollectionUnder, recordEvent, yearsAgo } from '../support/records.js';
import { subjectAccessWorld } from '../support/subject-access.js';
import { DIALECTS, createOrganisation, upload, type TestOrganisation, type TestUser } from '../support/vault.js';

const clamd = useClamd();
const REQUEST = { channel: 'api' as const, clientAddress: null, requestId: null };

/** The records tables, and what of documents, collections, jobs and notifications a records change writes. */
const RECORD_TABLES = [
  'record_series', 'record_series_revisions', 'retention_events', 'legal_holds', 'legal_hold_items', 'disposal_batches', 'disposal_items',
  'subject_access_requests', 'subject_access_parts', 'subject_access_items',
] as const;

/** One change, as a person with `roles` makes it, in the world `prepare` sets up. */
interface Case {
  name: string;
  /** A records manager in a council, or the DPO of a council that shares payroll with another (test/support/subject-access.ts). */
  world: 'records' | 'subject access';
  roles: string[];
  /** The refusal's event. */
  auditAs: string;
  /** What the refusal says is not there once the role is gone. */
  missing: string;
  /** The world, for one person: returns the change they make (run after the first decision, on the actor as they were). */
  prepare(w: World): Promise<(actor: Actor) => Promise<unknown>>;
}

interface World {
  org: TestOrganisation;
  /** For subject access: the council that may be asked to search, and a record of the DPO's own council about the person. */
  partnerId?: string;
  recordId?: string;
  person: TestUser;
  /** Someone of the organisation with no records role, who files documents. */
  member: TestUser;
}

describe.each(DIALECTS)('records changes decided again inside their transaction, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  async function file(w: World, name = `doc-${randomUUID().slice(0, 6)}.txt`): Promise<string> {
    const res = await upload(t.app, w.member, w.org.collections.hr!, name, `${name}\n`);
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  }

  async function rows(): Promise<string[]> {
    const db = t.vault.store.db;
    const out: string[] = [];
    for (const table of RECORD_TABLES) for (const row of await db.selectFrom(table).selectAll().execute()) out.push(`${table} ${JSON.stringify(row)}`);
    for (const row of await db.selectFrom('documents').select(['id', 'series_code']).execute()) out.push(`documents ${JSON.stringify(row)}`);
    for (const row of await db.selectFrom('collections').select(['id', 'series_code']).execute()) out.push(`collections ${JSON.stringify(row)}`);
    for (const row of await db.selectFrom('key_values').selectAll().where('key', 'like', 'disposal.%').execute()) out.push(`key_values ${JSON.stringify(row)}`);
    for (const row of await db.selectFrom('jobs').select(['id', 'kind']).where('kind', '=', 'dispose-batch').execute()) out.push(`jobs ${JSON.stringify(row)}`);
    for (const row of await db.selectFrom('notifications').select(['id', 'kind']).where('kind', 'in', ['disposal.review', 'subject-access.asked']).execute()) out.push(`notifications ${JSON.stringify(row)}`);
    return out.sort();
  }

  const eventsBy = async (organisationId: string, userId: string, after: number) => {
    await t.vault.audit.sequencer.flush();
    return (await t.vault.store.repos.audit.forOrganisation(organisationId))
    .filter((e) => e.actorUserId === userId && e.seq > after).map((e) => ({ action: e.action, decision: e.decision, reason: e.reason }));
  };
  const lastSeq = async () => (await t.vault.audit.sequencer.flush(), await t.vault.store.db.selectFrom('audit_events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst())?.seq ?? 0;

  const actorOf = async (user: TestUser): Promise<Actor> => actorFor((await t.vault.identity.userById(user.id))!, REQUEST);

  /** A batch of one due HR-03 record, swept by `person`: under review, or decided (`destroy`, `transfer`). */
  async function batch(w: World, decided?: 'destroy' | 'transfer'): Promise<{ batchId: string; documentId: string }> {
    const documentId = await file(w);
    await recordEvent(t.vault, w.org.id, documentId, 'process_complete', yearsAgo(3));
    const swept = await t.vault.disposal.sweep(await actorOf(w.person), w.org.id);
    const batchId = swept!.batch.id;
    if (decided) await t.vault.disposal.decide(await actorOf(w.person), batchId, [{ documentId, decision: decided }]);
    return { batchId, documentId };
  }

  const records = (name: string, auditAs: string, missing: string, prepare: Case['prepare']): Case => ({ name, world: 'records', roles: ['records_manager'], auditAs, missing, prepare });
  const subjectAccess = (name: string, auditAs: string, missing: string, prepare: Case['prepare']): Case => ({ name, world: 'subject access', roles: ['dpo'], auditAs, missing, prepare });
  const MISSING = 'subject access request';
  /** A request the DPO opened, asking nobody yet. */
  const request = async (w: World) => t.vault.subjectAccess.requests.open(await actorOf(w.person), { subjectName: 'Sam Smith', receivedOn: '2026-10-31' });

  const cases: Case[] = [
    records('places a legal hold', 'records.hold.create', 'organisation', async (w) => {
      const documentId = await file(w);
      return (actor) => t.vault.holds.createOver(actor, { name: 'Smith v Council', reason: 'Employment tribunal claim' }, { documentIds: [documentId] });
    }),
    records('adds to a legal hold', 'records.hold.add', 'hold', async (w) => {
      const documentId = await file(w);
      const hold = await t.vault.holds.create(await actorOf(w.person), { name: 'Smith v Council', reason: 'Employment tribunal claim' });
      return (actor) => t.vault.holds.addItems(actor, hold.id, { documentIds: [documentId] });
    }),
    records('releases a legal hold', 'records.hold.release', 'hold', async (w) => {
      const documentId = await file(w);
      const { hold } = await t.vault.holds.createOver(await actorOf(w.person), { name: 'Smith v Council', reason: 'Employment tribunal claim' }, { documentIds: [documentId] });
      return (actor) => t.vault.holds.release(actor, hold.id, 'Claim settled, nothing more to keep');
    }),
    records('records a retention event', 'records.event.record', 'document', async (w) => {
      const documentId = await file(w);
      return (actor) => t.vault.retentionEvents.recordEvent(actor, { kind: 'process_complete', date: yearsAgo(0), documentIds: [documentId] });
    }),
    records('clears a retention event', 'records.event.clear', 'retention event', async (w) => {
      const documentId = await file(w);
      const [event] = await t.vault.retentionEvents.recordEvent(await actorOf(w.person), { kind: 'process_complete', date: yearsAgo(0), documentIds: [documentId] });
      return (actor) => t.vault.retentionEvents.clearEvent(actor, event!.id);
    }),
    records('creates a record series', 'records.series.create', 'file plan', async (w) => async (actor) =>
      t.vault.retention.createSeries(actor, w.org.id, { code: 'HR-99', title: 'Exit interviews', serviceArea: 'hr', trigger: 'employment_end', retainYears: 2, action: 'destroy', authority: 'Local policy' })),
    records('changes a record series', 'records.series.update', 'record series', async (w) => async (actor) =>
      t.vault.retention.updateSeries(actor, w.org.id, HR_03.code, { retainYears: 5 }, { reason: 'Tribunal claims run longer' })),
    records('files a collection under a series', 'records.collection.series', 'collection', async (w) => async (actor) =>
      t.vault.retention.setCollectionSeries(actor, w.org.collections.finance!, HR_03.code)),
    records('files a document under a series', 'records.document.series', 'document', async (w) => {
      const documentId = await file(w);
      return (actor) => t.vault.retention.setDocumentSeries(actor, documentId, null);
    }),
    records('proposes a disposal batch', 'disposal.propose', 'organisation', async (w) => {
      const documentId = await file(w);
      await recordEvent(t.vault, w.org.id, documentId, 'process_complete', yearsAgo(3));
      return (actor) => t.vault.disposal.sweep(actor, w.org.id);
    }),
    records('decides a disposal batch\'s items', 'disposal.decide', 'disposal batch', async (w) => {
      const { batchId, documentId } = await batch(w);
      return (actor) => t.vault.disposal.decide(actor, batchId, [{ documentId, decision: 'destroy' }]);
    }),
    records('approves a disposal batch', 'disposal.approve', 'disposal batch', async (w) => {
      const { batchId } = await batch(w, 'destroy');
      return (actor) => t.vault.disposal.approve(actor, batchId);
    }),
    records('records a transfer package\'s export', 'disposal.transfer-export', 'disposal batch', async (w) => {
      const { batchId } = await batch(w, 'transfer');
      return (actor) => t.vault.disposal.transfer(actor, batchId);
    }),
    subjectAccess('opens a subject access request', 'subject-access.open', 'organisation', async () => (actor) =>
      t.vault.subjectAccess.requests.open(actor, { subjectName: 'Sam Smith', receivedOn: '2026-10-31' })),
    subjectAccess('asks a partner to search', 'subject-access.ask', MISSING, async (w) => {
      const { id } = await request(w);
      return (actor) => t.vault.subjectAccess.requests.askPartners(actor, id, [w.partnerId!]);
    }),
    subjectAccess('includes a record in the response', 'subject-access.add', MISSING, async (w) => {
      const { id } = await request(w);
      return (actor) => t.vault.subjectAccess.answers.addItems(actor, id, [w.recordId!]);
    }),
    subjectAccess('takes a record out of the response', 'subject-access.remove', MISSING, async (w) => {
      const { id } = await request(w);
      const [item] = await t.vault.subjectAccess.answers.addItems(await actorOf(w.person), id, [w.recordId!]);
      return (actor) => t.vault.subjectAccess.answers.removeItem(actor, id, item!.id);
    }),
    subjectAccess('marks the search finished', 'subject-access.searched', MISSING, async (w) => {
      const { id } = await request(w);
      return (actor) => t.vault.subjectAccess.answers.markSearched(actor, id, true);
    }),
    subjectAccess('extends the time to respond', 'subject-access.extend', MISSING, async (w) => {
      const { id } = await request(w);
      return (actor) => t.vault.subjectAccess.requests.extend(actor, id, 'The request is complex: many records across services');
    }),
    subjectAccess('closes the request, releasing its hold', 'subject-access.close', MISSING, async (w) => {
      const { id } = await request(w);
      await t.vault.subjectAccess.answers.addItems(await actorOf(w.person), id, [w.recordId!]);
      return (actor) => t.vault.subjectAccess.requests.close(actor, id, { outcome: 'disclosed' });
    }),
  ];

  async function council(c: Case): Promise<World & { admin: TestUser }> {
    if (c.world === 'subject access') {
      const s = await subjectAccessWorld(t);
      return { org: s.partner, admin: await s.partner.user({ roles: ['org_admin'] }), person: s.dpo, member: s.partnerStaff, partnerId: s.host.id, recordId: s.own };
    }
    const roles = c.roles;
    const org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    const admin = await org.user({ roles: ['org_admin'] });
    const person = await org.user({ roles, teams: ['hr', 'payroll', 'finance'] });
    const member = await org.user({ teams: ['hr'] });
    return { org, admin, person, member };
  }

  /** `change` lands between the first decision and the transaction: refused with `expected`, audited with `reason`, nothing written. */
  async function refusedMeanwhile(w: World & { admin: TestUser }, run: (actor: Actor) => Promise<unknown>, change: ChangeMeanwhile, expected: DomainError, auditAs: string, reason: string) {
    const actor = await actorOf(w.person);
    const before = await rows();
    const after = await lastSeq();
    const meanwhile = beforeNextTransaction(t.vault.store, () => changePerson(t.vault, w.admin.id, w.person.id, change));
    let thrown: unknown;
    try {
      await run(actor);
    } catch (error) {
      thrown = error;
    } finally {
      meanwhile.restore();
    }
    expect(meanwhile.ran()).toBe(true);
    expect(thrown).toBeInstanceOf(DomainError);
    expect({ code: (thrown as DomainError).code, message: (thrown as DomainError).message }).toEqual({ code: expected.code, message: expected.message });
    expect(await eventsBy(w.org.id, w.person.id, after)).toEqual([{ action: auditAs, decision: 'deny', reason }]);
    expect(await rows()).toEqual(before);
  }

  const SWITCHED_OFF = new DomainError('UNAUTHENTICATED', 'Your account was switched off while this was being sent, so nothing was saved.');

  it('refuses a legal hold\'s release over REST whose API token was revoked meanwhile (401), the hold still in force', async () => {
    const w = await council(cases[2]!);
    const documentId = await file(w);
    const { hold } = await t.vault.holds.createOver(await actorOf(w.person), { name: 'Smith v Council', reason: 'Employment tribunal claim' }, { documentIds: [documentId] });
    const [token] = await t.vault.credentials.listCredentials(await actorOf(w.person), w.person.id);
    const before = await rows();
    const after = await lastSeq();
    const meanwhile = beforeNextTransaction(t.vault.store, async () => t.vault.credentials.revokeCredential(await actorOf(w.person), token!.id));
    const res = await api(t.app, w.person).post(`holds/${hold.id}/release`, { reason: 'Claim settled, nothing more to keep' }).finally(() => meanwhile.restore());
    expect(meanwhile.ran()).toBe(true);
    expect(res.statusCode, res.body).toBe(401);
    expect(res.json().detail).toBe('The API token this was sent with was revoked while it was being sent, so nothing was saved.');
    expect((await eventsBy(w.org.id, w.person.id, after)).filter((e) => e.action === 'records.hold.release')).toEqual([{ action: 'records.hold.release', decision: 'deny', reason: 'credential_revoked' }]);
    expect(await rows()).toEqual(before);
  });

  for (const c of cases) {
    it(`refuses a ${c.roles.join(', ')} whose role was taken away meanwhile: ${c.name}`, async () => {
      const w = await council(c);
      const run = await c.prepare(w);
      await refusedMeanwhile(w, run, 'role removed', notFound(c.missing), c.auditAs, 'role');
    });

    it(`refuses a ${c.roles.join(', ')} switched off meanwhile: ${c.name}`, async () => {
      const w = await council(c);
      const run = await c.prepare(w);
      await refusedMeanwhile(w, run, 'switched off', SWITCHED_OFF, c.auditAs, 'account_disabled');
    });
  }
});
