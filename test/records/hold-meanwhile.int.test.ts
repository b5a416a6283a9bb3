// A legal hold placed in the moment between a change's decision and its commit still wins: the change is
// decided again inside its own transaction, under its rows' locks, with the holds as they are then
// (docs/records.md, "How it is enforced"). Each test places the hold (through the hold register, as a records
// manager does) from a hook that runs right after the service's last decision on the thing it then changes,
// before the transaction that would change it, on every interface that deletes, bins what is in the way
// (WebDAV COPY and MOVE with Overwrite: T), moves, renames or reclassifies. Each refusal is the hold's 409, on
// the interface's own terms, nothing changes, and it is audited like any other refusal (reason legal_hold, the
// hold's id among the event's ids), with no allowed event for the change. On PostgreSQL, a hold whose placing
// transaction has the row locked while the delete is on its way is waited for, and then refuses it.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/domain/access/actions.js';
import type { Resource } from '../../src/domain/access/policy.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createOrganisation, createPartnership, upload, type TestOrganisation, type TestUser } from '../support/vault.js';
import { FormClient, addPerson } from '../ui/support.js';
import { dav, davUser } from '../webdav/support.js';
import { sql } from 'kysely';

const clamd = useClamd();

const STILL = 'it cannot be deleted, changed or disposed of until the hold is released.';

describe.each(DIALECTS)('a legal hold placed between a decision and its commit, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  const base = () => `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;

  async function council(org?: TestOrganisation) {
    const o = org ?? await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL', hr: 'OFFICIAL' } });
    const member = await davUser(t.vault, o, { teams: ['finance'], clearance: 'OFFICIAL' });
    const manager = await o.user({ roles: ['records_manager'], clearance: 'OFFICIAL-SENSITIVE' });
    const managerActor = actorFor((await t.vault.identity.userById(manager.id))!, { channel: 'api', clientAddress: null, requestId: null });
    const folder = (name: string, parentId = o.collections.finance!) =>
      t.vault.collectionCreation.create(systemActor(), { organisationId: o.id, parentId, name, serviceArea: 'finance', classification: 'OFFICIAL' });
    /** A hold placed as a records manager places it: the register, its events and its row locks. */
    const hold = async (covers: { documentIds?: string[]; collectionIds?: string[] }) => {
      const placed = await t.vault.holds.create(managerActor, { name: `Smith v Council ${Math.random().toString(36).slice(2, 6)}`, reason: 'Employment tribunal claim' });
      await t.vault.holds.addItems(managerActor, placed.id, covers);
      return placed;
    };
    /** Released again, so the next attempt is decided (and first allowed) without it. */
    const release = (placed: { id: string }) => t.vault.holds.release(managerActor, placed.id, 'Claim settled, released for the next attempt');
    return { org: o, member, manager, managerActor, folder, hold, release };
  }

  async function file(user: TestUser, collectionId: string, name = `doc-${Math.random().toString(36).slice(2, 8)}.txt`): Promise<{ id: string; name: string }> {
    const res = await upload(t.app, user, collectionId, name, `${name}\n`);
    expect(res.statusCode, res.body).toBe(201);
    return { id: res.json().id as string, name };
  }

  /**
   * Runs `meanwhile` once, right after the access service has allowed `action` on the resource with id `id`
   * for the `nth` time (through `require`, as the services decide what they then change): after the last
   * decision on it, before the transaction that acts on it. Returns a check that it ran.
   */
  function afterDecision(action: Action, id: string, nth: number, meanwhile: () => Promise<unknown>): () => void {
    const access = t.vault.access;
    const original = access.require;
    let seen = 0;
    let ran = false;
    let failure: unknown = null;
    access.require = async function (this: typeof access, ...args: Parameters<typeof original>) {
      const decision = await original.apply(this, args);
      const [, asked, resource] = args as unknown as [unknown, Action, Resource];
      const resourceId = resource.kind === 'document' || resource.kind === 'collection' ? resource.id : null;
      if (asked === action && resourceId === id && ++seen === nth) {
        access.require = original;
        try {
          await meanwhile();
          ran = true;
        } catch (error) {
          failure = error;
        }
      }
      return decision;
    };
    return () => {
      access.require = original;
      if (failure) throw failure;
      expect(ran, `the hook after ${action} #${nth} on ${id} ran`).toBe(true);
    };
  }

  async function events(organisationId: string) {
    await t.vault.audit.sequencer.flush();
    return (await t.vault.store.repos.audit.forOrganisation(organisationId)).map((e) => ({ action: e.action, decision: e.decision, reason: e.reason, ids: e.targetIds }));
  }

  /** The events since `before` that are not the hold's own placing. */
  async function since(organisationId: string, before: number) {
    return (await events(organisationId)).slice(before).filter((e) => !e.action.startsWith('records.hold.'));
  }

  const deleted = async (id: string) => (await t.vault.store.repos.documents.byId(id))!.deletedAt !== null;
  const folderDeleted = async (id: string) => (await t.vault.store.repos.collections.byId(id))!.deletedAt !== null;
  const named = (hold: { id: string; name: string }) => `under legal hold “${hold.name}” (hold ${hold.id}); ${STILL}`;

  it('REST DELETE of a document: 409 naming the hold, not binned, the refusal audited', async () => {
    const { org, member, hold } = await council();
    const doc = await file(member, org.collections.finance!);
    const before = (await events(org.id)).length;
    let placed: { id: string; name: string } | undefined;
    const ran = afterDecision('document.delete', doc.id, 1, async () => { placed = await hold({ documentIds: [doc.id] }); });
    const answered = await api(t.app, member).delete(`documents/${doc.id}`);
    ran();
    const problem = expectProblem(answered, 409);
    expect(problem.detail).toBe(`This document is ${named(placed!)}`);
    expect(problem.holdId).toBe(placed!.id);
    expect(await deleted(doc.id)).toBe(false);
    expect(await since(org.id, before)).toEqual([
      { action: 'document.delete', decision: 'deny', reason: 'legal_hold', ids: { documentId: doc.id, holdId: placed!.id } },
    ]);
  });

  it('a hold on the folder, placed meanwhile, refuses the delete of a document in it too', async () => {
    const { member, hold, folder } = await council();
    const inside = await folder(`case-${Math.random().toString(36).slice(2, 6)}`);
    const doc = await file(member, inside.id);
    let placed: { id: string; name: string } | undefined;
    const ran = afterDecision('document.delete', doc.id, 1, async () => { placed = await hold({ collectionIds: [inside.id] }); });
    const answered = await api(t.app, member).delete(`documents/${doc.id}`);
    ran();
    const problem = expectProblem(answered, 409);
    expect(problem.detail).toBe(`This document is ${named(placed!)}`);
    expect(await deleted(doc.id)).toBe(false);
  });

  it('the web page’s Delete: 409 with the hold named in the error summary, not binned, audited', async () => {
    const { org, hold } = await council();
    const person = await addPerson(t.vault, org.slug, { teams: ['finance'] });
    const uploader = await org.user({ teams: ['finance'], clearance: 'OFFICIAL' });
    const doc = await file(uploader, org.collections.finance!);
    const web = new FormClient(base());
    await web.signIn(person.email);
    const page = await web.get(`/documents/${doc.id}`);
    expect(page.text).toContain(`action="/documents/${doc.id}/delete"`);
    const before = (await events(org.id)).length;
    let placed: { id: string; name: string } | undefined;
    const ran = afterDecision('document.delete', doc.id, 1, async () => { placed = await hold({ documentIds: [doc.id] }); });
    const refused = await web.post(`/documents/${doc.id}/delete`, { _csrf: FormClient.csrf(page.text) });
    ran();
    expect(refused.status).toBe(409);
    expect(refused.text).toContain(`under legal hold “${placed!.name}”`);
    expect(await deleted(doc.id)).toBe(false);
    expect(await since(org.id, before)).toEqual([
      { action: 'document.delete', decision: 'deny', reason: 'legal_hold', ids: { documentId: doc.id, holdId: placed!.id } },
    ]);
  });

  it('WebDAV DELETE of a document and of a folder holding one: 409 naming the hold, nothing binned', async () => {
    const { org, member, hold, folder, release } = await council();
    const doc = await file(member, org.collections.finance!);
    const root = `/dav/${org.slug}/finance`;
    let placed: { id: string; name: string } | undefined;
    let ran = afterDecision('document.delete', doc.id, 1, async () => { placed = await hold({ documentIds: [doc.id] }); });
    let res = await dav(base(), 'DELETE', `${root}/${doc.name}`, { user: member });
    ran();
    expect(res.status).toBe(409);
    expect(res.body).toContain(`This document is ${named(placed!)}`);
    expect(await deleted(doc.id)).toBe(false);
    await release(placed!);

    // A folder: the hold lands on a document inside it (a deleted one would do too) after every decision on the folder.
    const box = await folder(`box-${Math.random().toString(36).slice(2, 6)}`);
    const a = await file(member, box.id);
    const b = await file(member, box.id);
    const last = [a, b].sort((x, y) => x.name.localeCompare(y.name))[1]!;
    const before = (await events(org.id)).length;
    ran = afterDecision('document.delete', last.id, 1, async () => { placed = await hold({ documentIds: [a.id] }); });
    res = await dav(base(), 'DELETE', `${root}/${box.name}`, { user: member });
    ran();
    expect(res.status).toBe(409);
    expect(res.body).toContain(`This collection has something inside it that is ${named(placed!)}`);
    expect(await folderDeleted(box.id)).toBe(false);
    expect(await deleted(a.id)).toBe(false);
    expect(await deleted(b.id)).toBe(false);
    expect(await since(org.id, before)).toEqual([
      { action: 'collection.delete', decision: 'deny', reason: 'legal_hold', ids: { collectionId: box.id, documentId: a.id, holdId: placed!.id } },
    ]);
    await release(placed!);

    // And a hold on the folder itself.
    ran = afterDecision('document.delete', last.id, 1, async () => { placed = await hold({ collectionIds: [box.id] }); });
    res = await dav(base(), 'DELETE', `${root}/${box.name}`, { user: member });
    ran();
    expect(res.status).toBe(409);
    expect(res.body).toContain(`This collection is ${named(placed!)}`);
    expect(await folderDeleted(box.id)).toBe(false);
  });

  it('WebDAV MOVE and COPY with Overwrite: T onto a document held meanwhile: 409, neither moved nor binned', async () => {
    const { org, member, hold, folder, release } = await council();
    const from = await folder(`from-${Math.random().toString(36).slice(2, 6)}`);
    const to = await folder(`to-${Math.random().toString(36).slice(2, 6)}`);
    const source = await file(member, from.id, 'minutes.txt');
    const inTheWay = await file(member, to.id, 'minutes.txt');
    const root = `/dav/${org.slug}/finance`;
    const request = (method: string) => dav(base(), method, `${root}/${from.name}/minutes.txt`, {
      user: member, headers: { destination: `${base()}${root}/${to.name}/minutes.txt`, overwrite: 'T' },
    });
    for (const [method, nth] of [['MOVE', 1], ['COPY', 2]] as const) {
      // A copy decides what is in the way twice: before its bytes are read and once they have been (the second is the last).
      const before = (await events(org.id)).length;
      let placed: { id: string; name: string } | undefined;
      const ran = afterDecision('document.delete', inTheWay.id, nth, async () => { placed = await hold({ documentIds: [inTheWay.id] }); });
      const res = await request(method);
      ran();
      expect(res.status, method).toBe(409);
      expect(res.body, method).toContain(`This document is ${named(placed!)}`);
      expect(await deleted(inTheWay.id), method).toBe(false);
      expect(await t.vault.store.repos.documents.byId(source.id), method).toMatchObject({ collectionId: from.id, deletedAt: null });
      expect((await t.vault.store.repos.documents.inCollection(to.id)).map((d) => d.id), method).toEqual([inTheWay.id]);
      expect(await since(org.id, before), method).toEqual([
        { action: 'document.delete', decision: 'deny', reason: 'legal_hold', ids: { documentId: inTheWay.id, holdId: placed!.id } },
      ]);
      await release(placed!);
    }
  });

  it('WebDAV MOVE and COPY of a folder with Overwrite: T onto a folder with a document held meanwhile: 409, nothing binned', async () => {
    const { org, member, hold, folder, release } = await council();
    const source = await folder(`src-${Math.random().toString(36).slice(2, 6)}`);
    await file(member, source.id);
    const parent = await folder(`dst-${Math.random().toString(36).slice(2, 6)}`);
    const inTheWay = await folder(source.name, parent.id);
    const inside = await file(member, inTheWay.id);
    const root = `/dav/${org.slug}/finance`;
    // A folder copy decides what is in the way twice: before the documents are read and once they have been (the second is the last).
    for (const [method, nth] of [['MOVE', 1], ['COPY', 2]] as const) {
      const before = (await events(org.id)).length;
      let placed: { id: string; name: string } | undefined;
      const ran = afterDecision('document.delete', inside.id, nth, async () => { placed = await hold({ documentIds: [inside.id] }); });
      const res = await dav(base(), method, `${root}/${source.name}`, {
        user: member, headers: { destination: `${base()}${root}/${parent.name}/${source.name}`, overwrite: 'T' },
      });
      ran();
      expect(res.status, method).toBe(409);
      expect(res.body, method).toContain(`This collection has something inside it that is ${named(placed!)}`);
      expect(await folderDeleted(inTheWay.id), method).toBe(false);
      expect(await deleted(inside.id), method).toBe(false);
      expect(await t.vault.store.repos.collections.byId(source.id), method).toMatchObject({ parentId: org.collections.finance, deletedAt: null });
      expect((await t.vault.store.repos.collections.children(org.id, parent.id)).map((c) => c.id), method).toEqual([inTheWay.id]);
      expect((await since(org.id, before)).filter((e) => e.decision === 'allow'), method).toEqual([]);
      await release(placed!);
    }
  });

  it('REST moves, renames, reclassification and a new version of a document, and a folder move, refused by a hold placed meanwhile', async () => {
    const { org, member, hold, folder, release } = await council();
    const elsewhere = await folder(`else-${Math.random().toString(36).slice(2, 6)}`);
    const doc = await file(member, org.collections.finance!);
    // A new version is decided before its bytes arrive and again once they have: the hold comes after the second.
    const attempts: [string, Action, number, () => ReturnType<ReturnType<typeof api>['patch']>][] = [
      ['move', 'document.rename', 1, () => api(t.app, member).patch(`documents/${doc.id}`, { collectionId: elsewhere.id })],
      ['rename', 'document.rename', 1, () => api(t.app, member).patch(`documents/${doc.id}`, { name: 'renamed.txt' })],
      ['classify', 'document.classify', 1, () => api(t.app, member).post(`documents/${doc.id}/classification`, { classification: 'OFFICIAL', reason: 'looked again' })],
      ['version', 'document.version', 2, () => api(t.app, member).put(`documents/${doc.id}/content`, 'a new version\n')],
    ];
    for (const [what, action, nth, attempt] of attempts) {
      const before = (await events(org.id)).length;
      let placed: { id: string; name: string } | undefined;
      const ran = afterDecision(action, doc.id, nth, async () => { placed = await hold({ documentIds: [doc.id] }); });
      const answered = await attempt();
      ran();
      const problem = expectProblem(answered, 409);
      expect(problem.detail, what).toBe(`This document is ${named(placed!)}`);
      expect(await since(org.id, before), what).toEqual([
        { action, decision: 'deny', reason: 'legal_hold', ids: { documentId: doc.id, holdId: placed!.id } },
      ]);
      await release(placed!);
    }
    expect(await t.vault.store.repos.documents.byId(doc.id)).toMatchObject({ collectionId: org.collections.finance, name: doc.name, deletedAt: null, currentVersion: 1 });
    expect(await t.vault.store.repos.documents.versions(doc.id)).toHaveLength(1);

    // A folder whose document is held in the moment after the move was decided (its last decision: creating in the new parent).
    const box = await folder(`box-${Math.random().toString(36).slice(2, 6)}`);
    const inside = await file(member, box.id);
    const before = (await events(org.id)).length;
    let placed: { id: string; name: string } | undefined;
    const ran = afterDecision('collection.create', elsewhere.id, 1, async () => { placed = await hold({ documentIds: [inside.id] }); });
    const answered = await api(t.app, member).patch(`collections/${box.id}`, { parentId: elsewhere.id });
    ran();
    const problem = expectProblem(answered, 409);
    expect(problem.detail).toBe(`This collection has something inside it that is ${named(placed!)}`);
    expect(await t.vault.store.repos.collections.byId(box.id)).toMatchObject({ parentId: org.collections.finance });
    expect(await since(org.id, before)).toEqual([
      { action: 'collection.move', decision: 'deny', reason: 'legal_hold', ids: { collectionId: box.id, documentId: inside.id, holdId: placed!.id } },
    ]);
  });

  it('a move to a partner council (a copy there, a deletion here): the owner’s hold placed meanwhile refuses it, unnamed to the host', async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const { hold } = await council(partner);
    const partnerStaff = await partner.user({ teams: ['payroll'] });
    const hostStaff = await host.user({ teams: ['payroll'] });
    const doc = await file(partnerStaff, partner.collections.payroll!);
    const before = (await events(partner.id)).length;
    let placed: { id: string; name: string } | undefined;
    // Its deletion is decided before the bytes are copied and again once they have been: the hold comes after the second.
    const ran = afterDecision('document.delete', doc.id, 2, async () => { placed = await hold({ documentIds: [doc.id] }); });
    const answered = await api(t.app, hostStaff).patch(`documents/${doc.id}`, { collectionId: host.collections.payroll });
    ran();
    const problem = expectProblem(answered, 409);
    expect(problem.detail).toBe(`This document is under a legal hold of the organisation that owns it (hold ${placed!.id}); ${STILL}`);
    expect(await deleted(doc.id)).toBe(false);
    expect(await t.vault.store.repos.documents.inCollection(host.collections.payroll!)).toEqual([]);
    expect((await since(partner.id, before)).filter((e) => e.action !== 'document.read')).toEqual([
      { action: 'document.delete', decision: 'deny', reason: 'legal_hold', ids: { documentId: doc.id, holdId: placed!.id } },
    ]);
  });

  it.runIf(dialect === 'postgres')('waits for a hold whose placing transaction has the document locked, then refuses the delete', async () => {
    const { org, member, manager, managerActor } = await council();
    const doc = await file(member, org.collections.finance!);
    const placed = await t.vault.holds.create(managerActor, { name: 'Jones v Council', reason: 'County court claim' });
    let answer: Promise<Awaited<ReturnType<ReturnType<typeof api>['delete']>>> | undefined;
    await t.vault.store.db.transaction().execute(async (trx) => {
      // What HoldsService.addItems does, held open: the document's row locked, then the item written.
      await sql`select id from documents where id = ${doc.id} for update`.execute(trx);
      answer = api(t.app, member).delete(`documents/${doc.id}`);
      // The delete is decided (no hold yet) and then waits on the row lock inside its transaction.
      for (let i = 0; ; i++) {
        const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid where not l.granted and a.datname = current_database()`.execute(t.vault.store.db);
        if (waiting.rows[0]!.n > 0) break;
        if (i > 500) throw new Error('the delete never waited on the row lock');
        await new Promise((r) => setTimeout(r, 10));
      }
      await trx.insertInto('legal_hold_items').values({ id: randomUUID(), hold_id: placed.id, organisation_id: org.id, document_id: doc.id, collection_id: null, added_by: manager.id, added_at: new Date().toISOString() }).execute();
    });
    const problem = expectProblem(await answer!, 409);
    expect(problem.detail).toBe(`This document is ${named(placed)}`);
    expect(await deleted(doc.id)).toBe(false);
  });

  it.runIf(dialect === 'postgres')('a folder above moved into a folder being held at that moment: the delete waits for that hold too, then is refused', async () => {
    const { org, member, manager, managerActor, folder } = await council();
    const db = t.vault.store.db;
    const suffix = Math.random().toString(36).slice(2, 6);
    const oldParent = await folder(`old-${suffix}`);
    const heldFolder = await folder(`held-${suffix}`);
    const newParent = await folder(`new-${suffix}`, heldFolder.id);
    const inner = await folder(`case-${suffix}`, oldParent.id);
    const doc = await file(member, inner.id);
    const placed = await t.vault.holds.create(managerActor, { name: 'Patel v Council', reason: 'Tribunal claim' });

    /** A transaction that does `work` and then stays open until committed; resolves once `work` is done. */
    async function heldOpen(work: (trx: typeof db) => Promise<void>): Promise<{ xid: string; commit: () => Promise<void> }> {
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let ready!: (xid: string) => void;
      const done = new Promise<string>((r) => (ready = r));
      const finished = db.transaction().execute(async (trx) => {
        await work(trx);
        ready((await sql<{ xid: string }>`select txid_current()::text as xid`.execute(trx)).rows[0]!.xid);
        await released;
      });
      const xid = await Promise.race([done, finished.then(() => { throw new Error('the transaction ended early'); })]);
      return { xid, commit: async () => { release(); await finished; } };
    }
    /** Waits until some statement waits on transaction `xid`'s locks, or `settled()` says the answer came first. */
    async function waitingOn(xid: string, settled: () => boolean): Promise<void> {
      for (let i = 0; !settled(); i++) {
        const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_locks where not granted and locktype = 'transactionid' and transactionid::text = ${xid}`.execute(db);
        if (waiting.rows[0]!.n > 0) return;
        if (i > 500) throw new Error(`nothing waited on transaction ${xid}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }

    // The folder move, held open: the moved folder's row changed and locked, as CollectionMovesService.move leaves it.
    const move = await heldOpen(async (trx) => { await trx.updateTable('collections').set({ parent_id: newParent.id }).where('id', '=', inner.id).execute(); });
    let settled = false;
    const answer = api(t.app, member).delete(`documents/${doc.id}`).finally(() => (settled = true));
    // The delete read the folders above before the move committed (the old chain), and waits on the moved folder's lock.
    await waitingOn(move.xid, () => settled);
    // Meanwhile a hold is placed on the folder above the new parent, as HoldsService.addItems places it: that
    // folder's row locked, the item written. (Not on the new parent itself: the move's foreign key has that row
    // key-share locked until it commits, so a placer there would simply wait for the move.)
    const placing = await heldOpen(async (trx) => {
      await sql`select id from collections where id = ${heldFolder.id} for update`.execute(trx);
      await trx.insertInto('legal_hold_items').values({ id: randomUUID(), hold_id: placed.id, organisation_id: org.id, document_id: null, collection_id: heldFolder.id, added_by: manager.id, added_at: new Date().toISOString() }).execute();
    });
    await move.commit();
    // The delete now finds the folder under its new parent: it must wait for the held folder's lock, not decide without it.
    await waitingOn(placing.xid, () => settled);
    await placing.commit();
    const problem = expectProblem(await answer, 409);
    expect(problem.detail).toBe(`This document is ${named(placed)}`);
    expect(await deleted(doc.id)).toBe(false);
  });
});
