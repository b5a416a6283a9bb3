// A records change decided again inside its transaction must ask about the resource as that transaction reads
// it, not as it was read before (services/decided-within.ts re-reads the actor only). Each case: someone else's
// change lands just before the service opens its transaction (test/support/meanwhile.ts) and must refuse it:
// an arrangement suspended before a partner is asked; a disposal batch's decisions changed before it is approved;
// a record moved out of a DPO's reach before it is included in a response or held, or out of it (their team taken
// away) before they take it out of one; the request closed before a record is taken out.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it, vi } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import type { Actor } from '../../src/domain/types.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { beforeNextTransaction } from '../support/meanwhile.js';
import { HR_03, fileCollectionUnder, recordEvent, yearsAgo } from '../support/records.js';
import { subjectAccessWorld } from '../support/subject-access.js';
import { DIALECTS, createOrganisation, upload, type TestUser } from '../support/vault.js';

const clamd = useClamd();
const REQUEST = { channel: 'api' as const, clientAddress: null, requestId: null };

describe.each(DIALECTS)('records changes decided again on the resource as their transaction reads it, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  const actorOf = async (user: TestUser): Promise<Actor> => actorFor((await t.vault.identity.userById(user.id))!, REQUEST);
  const lastSeq = async () => (await t.vault.audit.sequencer.flush(), await t.vault.store.db.selectFrom('audit_events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst())?.seq ?? 0;
  const eventsBy = async (organisationIds: string[], userId: string, after: number) => {
    await t.vault.audit.sequencer.flush();
    const seen = new Map<number, { organisationId: string | null; action: string; decision: string; reason: string | null }>();
    for (const id of organisationIds) {
      for (const e of await t.vault.store.repos.audit.forOrganisation(id)) {
        if (e.actorUserId === userId && e.seq > after) seen.set(e.seq, { organisationId: e.targetOrganisationId, action: e.action, decision: e.decision, reason: e.reason });
      }
    }
    return [...seen.entries()].sort(([a], [b]) => a - b).map(([, e]) => e);
  };

  /** Runs `run` with `meanwhile` landing just before its transaction; returns what it threw. */
  async function thrownWith(meanwhile: () => Promise<unknown>, run: () => Promise<unknown>): Promise<DomainError> {
    const hook = beforeNextTransaction(t.vault.store, meanwhile);
    let thrown: unknown;
    try {
      await run();
    } catch (error) {
      thrown = error;
    } finally {
      hook.restore();
    }
    expect(hook.ran()).toBe(true);
    expect(thrown).toBeInstanceOf(DomainError);
    return thrown as DomainError;
  }

  /** What a change answered: its refusal's code and message, or null if it was made. */
  const answered = async (change: Promise<unknown>) => change.then(() => null, (error: unknown) => {
    expect(error).toBeInstanceOf(DomainError);
    return { code: (error as DomainError).code, message: (error as DomainError).message };
  });

  const partsOf = async (requestId: string) => (await t.vault.store.repos.subjectAccess.parts(requestId)).map((p) => p.organisationId).sort();
  const askedRows = async () => ({
    notifications: (await t.vault.store.db.selectFrom('notifications').select('id').where('kind', '=', 'subject-access.asked').execute()).length,
    mail: (await t.vault.store.db.selectFrom('jobs').select(['payload']).execute()).filter((j) => String(j.payload).includes('subject-access-partner')).length,
  });

  it('refuses to ask a partner whose arrangement was suspended meanwhile (400), the partner not asked nor told', async () => {
    const w = await subjectAccessWorld(t);
    const request = await t.vault.subjectAccess.requests.open(await actorOf(w.dpo), { subjectName: 'Sam Smith', receivedOn: '2026-10-31' });
    const before = await askedRows();
    const after = await lastSeq();
    const thrown = await thrownWith(() => t.vault.arrangements.suspend(systemActor(), w.arrangement.id),
      async () => t.vault.subjectAccess.requests.askPartners(await actorOf(w.dpo), request.id, [w.host.id]));
    const host = (await t.vault.store.repos.organisations.byId(w.host.id))!;
    expect({ code: thrown.code, message: thrown.message }).toEqual({
      code: 'INVALID', message: `${host.name} shares no arrangement in force with your organisation, so it cannot be asked to search its records for you.`,
    });
    expect(await partsOf(request.id)).toEqual([w.partner.id]);
    expect(await askedRows()).toEqual(before);
    expect(await eventsBy([w.partner.id, w.host.id], w.dpo.id, after)).toEqual([
      { organisationId: w.host.id, action: 'subject-access.receive', decision: 'deny', reason: 'no_arrangement' },
    ]);
  });

  it('refuses to open a request asking a partner whose arrangement was suspended meanwhile (400), nothing opened', async () => {
    const w = await subjectAccessWorld(t);
    const before = await askedRows();
    const requests = await t.vault.store.db.selectFrom('subject_access_requests').select('id').execute();
    const after = await lastSeq();
    const thrown = await thrownWith(() => t.vault.arrangements.suspend(systemActor(), w.arrangement.id),
      async () => t.vault.subjectAccess.requests.open(await actorOf(w.dpo), { subjectName: 'Sam Smith', receivedOn: '2026-10-31', partnerOrganisationIds: [w.host.id] }));
    const host = (await t.vault.store.repos.organisations.byId(w.host.id))!;
    expect({ code: thrown.code, message: thrown.message }).toEqual({
      code: 'INVALID', message: `${host.name} shares no arrangement in force with your organisation, so it cannot be asked to search its records for you.`,
    });
    expect(await t.vault.store.db.selectFrom('subject_access_requests').select('id').execute()).toEqual(requests);
    expect(await askedRows()).toEqual(before);
    expect(await eventsBy([w.partner.id, w.host.id], w.dpo.id, after)).toEqual([
      { organisationId: w.host.id, action: 'subject-access.receive', decision: 'deny', reason: 'no_arrangement' },
    ]);
  });

  it('refuses to include a record moved meanwhile out of the DPO\'s teams (404), nothing included nor held', async () => {
    const w = await subjectAccessWorld(t);
    const request = await t.vault.subjectAccess.requests.open(await actorOf(w.dpo), { subjectName: 'Sam Smith', receivedOn: '2026-10-31' });
    const mover = await w.partner.user({ teams: ['payroll', 'hr'] });
    const [items, holds] = [await t.vault.store.db.selectFrom('subject_access_items').select('id').execute(), await t.vault.store.db.selectFrom('legal_holds').select('id').execute()];
    const after = await lastSeq();
    const thrown = await thrownWith(async () => t.vault.filing.move(await actorOf(mover), w.own, { collectionId: w.partner.collections.hr! }),
      async () => t.vault.subjectAccess.answers.addItems(await actorOf(w.dpo), request.id, [w.own]));
    expect({ code: thrown.code, message: thrown.message }).toEqual({ code: 'NOT_FOUND', message: 'No document with that id exists, or you do not have access to it.' });
    expect(await t.vault.store.db.selectFrom('subject_access_items').select('id').execute()).toEqual(items);
    expect(await t.vault.store.db.selectFrom('legal_holds').select('id').execute()).toEqual(holds);
    expect(await eventsBy([w.partner.id], w.dpo.id, after)).toEqual([
      { organisationId: w.partner.id, action: 'subject-access.add', decision: 'deny', reason: 'not_in_team' },
    ]);
  });

  it('refuses to include a record destroyed meanwhile (409 as a hold is refused), nothing included nor held, no refusal audited', async () => {
    const w = await subjectAccessWorld(t);
    await fileCollectionUnder(t.vault, w.partner.id, w.partner.collections.payroll!, HR_03);
    const manager = await w.partner.user({ roles: ['records_manager'], teams: ['payroll'] });
    await recordEvent(t.vault, w.partner.id, w.own, 'process_complete', yearsAgo(3));
    const batchId = (await t.vault.disposal.sweep(await actorOf(manager), w.partner.id))!.batch.id;
    await t.vault.disposal.decide(await actorOf(manager), batchId, [{ documentId: w.own, decision: 'destroy' }]);
    await t.vault.disposal.approve(await actorOf(manager), batchId);
    const request = await t.vault.subjectAccess.requests.open(await actorOf(w.dpo), { subjectName: 'Sam Smith', receivedOn: '2026-10-31' });
    const [items, holds] = [await t.vault.store.db.selectFrom('subject_access_items').select('id').execute(), await t.vault.store.db.selectFrom('legal_holds').select('id').execute()];
    const after = await lastSeq();
    const thrown = await thrownWith(() => t.vault.disposal.execute(batchId), async () => t.vault.subjectAccess.answers.addItems(await actorOf(w.dpo), request.id, [w.own]));
    expect({ code: thrown.code, message: thrown.message }).toEqual({ code: 'CONFLICT', message: '“payslip-march.txt” was destroyed a moment ago; it can no longer be held.' });
    expect((await t.vault.store.repos.documents.byId(w.own))?.status).toBe('disposed');
    expect(await t.vault.store.db.selectFrom('subject_access_items').select('id').execute()).toEqual(items);
    expect(await t.vault.store.db.selectFrom('legal_holds').select('id').execute()).toEqual(holds);
    expect(await eventsBy([w.partner.id], w.dpo.id, after)).toEqual([]);
  });

  for (const step of ['places a hold over', 'adds to a hold'] as const) {
    it(`refuses a DPO who ${step} a record moved meanwhile out of their teams (404), nothing held`, async () => {
      const org = await createOrganisation(t.vault);
      // A DPO places holds (records.hold) and reads by team; a records manager reads every area.
      const manager = await org.user({ roles: ['dpo'], teams: ['hr'] });
      const mover = await org.user({ teams: ['hr', 'finance'] });
      const name = `doc-${randomUUID().slice(0, 6)}.txt`;
      const documentId = (await upload(t.app, mover, org.collections.hr!, name, `${name}\n`)).json().id as string;
      const hold = step === 'adds to a hold' ? await t.vault.holds.create(await actorOf(manager), { name: 'Smith v Council', reason: 'Employment tribunal claim' }) : null;
      const rows = async () => [await t.vault.store.db.selectFrom('legal_holds').select('id').execute(), await t.vault.store.db.selectFrom('legal_hold_items').select('id').execute()];
      const before = await rows();
      const after = await lastSeq();
      const thrown = await thrownWith(async () => t.vault.filing.move(await actorOf(mover), documentId, { collectionId: org.collections.finance! }), async () => hold
        ? t.vault.holds.addItems(await actorOf(manager), hold.id, { documentIds: [documentId] })
        : t.vault.holds.createOver(await actorOf(manager), { name: 'Smith v Council', reason: 'Employment tribunal claim' }, { documentIds: [documentId] }));
      expect({ code: thrown.code, message: thrown.message }).toEqual({ code: 'NOT_FOUND', message: 'No document with that id exists, or you do not have access to it.' });
      expect(await rows()).toEqual(before);
      expect(await eventsBy([org.id], manager.id, after)).toEqual([{ organisationId: org.id, action: 'records.hold.add', decision: 'deny', reason: 'not_in_team' }]);
    });
  }

  /** The partner's DPO's request with its own record included; `admin` may change the DPO meanwhile. */
  async function included() {
    const w = await subjectAccessWorld(t);
    const request = await t.vault.subjectAccess.requests.open(await actorOf(w.dpo), { subjectName: 'Sam Smith', receivedOn: '2026-10-31' });
    const [item] = await t.vault.subjectAccess.answers.addItems(await actorOf(w.dpo), request.id, [w.own]);
    const admin = await actorOf(await w.partner.user({ roles: ['org_admin'] }));
    const items = async () => t.vault.store.db.selectFrom('subject_access_items').selectAll().where('request_id', '=', request.id).execute();
    return { w, request, item: item!, admin, items };
  }

  it('refuses to take out a record the DPO may no longer read, their team taken away meanwhile (404 as a later request hears), nothing removed, the refusal audited', async () => {
    const { w, request, item, admin, items } = await included();
    const before = await items();
    const after = await lastSeq();
    const thrown = await thrownWith(() => t.vault.people.update(admin, w.dpo.id, { teams: [] }),
      async () => t.vault.subjectAccess.answers.removeItem(await actorOf(w.dpo), request.id, item.id));
    const refusal = { code: 'NOT_FOUND', message: 'No record in this request with that id exists, or you do not have access to it.' };
    expect({ code: thrown.code, message: thrown.message }).toEqual(refusal);
    expect(await items()).toEqual(before);
    const refused = { organisationId: w.partner.id, action: 'document.read', decision: 'deny', reason: 'not_in_team' };
    expect(await eventsBy([w.partner.id], w.dpo.id, after)).toEqual([refused]);
    // A later request: the same answer and the same event.
    expect(await answered(t.vault.subjectAccess.answers.removeItem(await actorOf(w.dpo), request.id, item.id))).toEqual(refusal);
    expect(await eventsBy([w.partner.id], w.dpo.id, after)).toEqual([refused, refused]);
    expect(await items()).toEqual(before);
  });

  it('refuses to take out a record once the request was closed meanwhile (409 as a later request hears), nothing removed', async () => {
    const { w, request, item, items } = await included();
    const after = await lastSeq();
    const thrown = await thrownWith(async () => t.vault.subjectAccess.requests.close(await actorOf(w.dpo), request.id, { outcome: 'disclosed' }),
      async () => t.vault.subjectAccess.answers.removeItem(await actorOf(w.dpo), request.id, item.id));
    const refusal = { code: 'CONFLICT', message: 'This request is closed; its response can no longer change.' };
    expect({ code: thrown.code, message: thrown.message }).toEqual(refusal);
    expect(await answered(t.vault.subjectAccess.answers.removeItem(await actorOf(w.dpo), request.id, item.id))).toEqual(refusal);
    expect((await items()).map((i) => i.removed_at)).toEqual([null]);
    expect((await eventsBy([w.partner.id], w.dpo.id, after)).filter((e) => e.decision === 'deny' || e.action === 'subject-access.remove')).toEqual([]);
  });

  /** A batch of one record, decided (`destroy` unless told) by `manager`; `other` is a second records manager. */
  async function decidedBatch(decided: 'destroy' | 'transfer' = 'destroy') {
    const org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const other = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const member = await org.user({ teams: ['hr'] });
    const name = `doc-${randomUUID().slice(0, 6)}.txt`;
    const documentId = (await upload(t.app, member, org.collections.hr!, name, `${name}\n`)).json().id as string;
    await recordEvent(t.vault, org.id, documentId, 'process_complete', yearsAgo(3));
    const batchId = (await t.vault.disposal.sweep(await actorOf(manager), org.id))!.batch.id;
    await t.vault.disposal.decide(await actorOf(manager), batchId, [{ documentId, decision: decided }]);
    const state = async () => ({
      status: (await t.vault.store.repos.disposal.batch(batchId))!.status,
      items: (await t.vault.store.repos.disposal.items(batchId)).map((i) => ({ documentId: i.documentId, decision: i.decision, decidedBy: i.decidedBy })),
    });
    // Kept longer instead: the decision the other records manager would make.
    const extend = async () => t.vault.disposal.decide(await actorOf(other), batchId, [{ documentId, decision: 'extend', extendTo: '2099-03-31', reason: 'Tribunal may follow' }]);
    return { org, manager, other, documentId, batchId, state, extend };
  }
  const FINAL = { code: 'CONFLICT', message: 'This batch has been approved: its decisions are final.' };

  it('refuses a decision on a batch approved between its check and its transaction (409 as a later one hears), the approved decisions as they were', async () => {
    const { org, manager, other, documentId, batchId, state, extend } = await decidedBatch();
    const after = await lastSeq();
    const thrown = await thrownWith(async () => t.vault.disposal.approve(await actorOf(manager), batchId), extend);
    expect({ code: thrown.code, message: thrown.message }).toEqual(FINAL);
    const approved = { status: 'approved', items: [{ documentId, decision: 'destroy', decidedBy: manager.id }] };
    expect(await state()).toEqual(approved);
    expect(await answered(extend())).toEqual(FINAL);
    expect(await state()).toEqual(approved);
    expect(await eventsBy([org.id], other.id, after)).toEqual([]);
  });

  // PostgreSQL runs the two side by side (the decision's check reads the batch before the approval commits); SQLite's
  // one connection runs the decision only once the approval has committed.
  it('a decision whose transaction starts while an approval is uncommitted waits for the batch\'s row, then is refused (409): nothing decided into an approved batch', async () => {
    const { org, manager, other, documentId, batchId, state, extend } = await decidedBatch();
    const after = await lastSeq();
    // The approval's transaction, its writes made, held open until the decision is waiting on a lock (or has finished).
    const transaction = t.vault.store.transaction.bind(t.vault.store);
    let commit!: () => void;
    const held = new Promise<void>((resolve) => { commit = resolve; });
    let written!: () => void;
    const wrote = new Promise<void>((resolve) => { written = resolve; });
    const spy = vi.spyOn(t.vault.store, 'transaction').mockImplementation(async (work) => {
      spy.mockRestore();
      return transaction(async (repos) => {
        const result = await work(repos);
        written();
        await held;
        return result;
      });
    });
    const approving = t.vault.disposal.approve(await actorOf(manager), batchId);
    approving.catch(() => undefined);
    await wrote;
    spy.mockRestore();
    const deciding = answered(extend());
    const waiting = async () => Number((await sql<{ n: string }>`select count(*) as n from pg_locks where not granted`.execute(t.vault.store.db)).rows[0]!.n) > 0;
    let settled = false;
    void deciding.then(() => { settled = true; });
    if (dialect === 'postgres') for (let tries = 0; !settled && !(await waiting()) && tries < 250; tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    commit();
    await approving;
    expect(await deciding).toEqual(FINAL);
    expect(await state()).toEqual({ status: 'approved', items: [{ documentId, decision: 'destroy', decidedBy: manager.id }] });
    expect(await eventsBy([org.id], other.id, after)).toEqual([]);
  });

  it('refuses to approve a batch whose decisions changed meanwhile (409): a record approved for transfer is not destroyed instead', async () => {
    const { org, manager, other, documentId, batchId } = await decidedBatch('transfer');
    const exported = await t.vault.disposal.transfer(await actorOf(manager), batchId);
    for await (const chunk of exported.stream) void chunk;
    const after = await lastSeq();
    const thrown = await thrownWith(async () => t.vault.disposal.decide(await actorOf(other), batchId, [{ documentId, decision: 'destroy' }]),
      async () => t.vault.disposal.approve(await actorOf(manager), batchId));
    expect({ code: thrown.code, message: thrown.message }).toEqual({
      code: 'CONFLICT', message: 'The decisions on this batch changed a moment ago: look at them again before approving.',
    });
    expect((await t.vault.store.repos.disposal.batch(batchId))!.status).toBe('review');
    expect((await t.vault.store.db.selectFrom('jobs').select('payload').where('kind', '=', 'dispose-batch').execute()).filter((j) => j.payload.includes(batchId))).toEqual([]);
    expect(await eventsBy([org.id], manager.id, after)).toEqual([]);
  });
});
