// A database administrator (any row, but neither the master key nor the signing key) opens a record to
// everyone cleared only for OFFICIAL by writing OFFICIAL over its OFFICIAL-SENSITIVE, and to another
// council's staff by writing a shared service area over its own or binding its folder to an arrangement:
// access is decided on the row. `audit verify` must name each such row, a document's or a folder's, and
// whatever was raised with no event of its own (everything beneath a folder moved under a more
// sensitive one); and must not name what the service did honestly, a person's lowering included.
import { afterEach, describe, expect, it } from 'vitest';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { DIALECTS, createPartnership, openTestVault, upload, type TestVault } from '../support/vault.js';
import { nameKey } from '../../src/domain/names.js';

const clamd = useClamd();

describe.each(DIALECTS)('audit verify and classifications, service areas and arrangement bindings written in the database on %s', (dialect) => {
  let t: TestVault | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /**
   * Finance (OFFICIAL) holds "Plain" with "Sub" in it and "inside.txt" in Sub; "Plain" is then moved into
   * "Sensitive" (OFFICIAL-SENSITIVE), raising all three, and "Sub" moved back out (still raised).
   * "lowered.txt" was put in Sensitive and reclassified OFFICIAL by a person with a reason; "restored.txt"
   * too, then deleted and restored (raised again); "copied.txt" is a copy of an OFFICIAL file into Sensitive.
   * The council hosts payroll for a partner, with a joint workspace and a folder in it.
   */
  async function setting() {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
    const v = t;
    const { host: org, partner, arrangement } = await createPartnership(v.vault, { accessLevel: 'read', ceiling: 'OFFICIAL-SENSITIVE' });
    const workspace = await v.vault.collectionCreation.createWorkspace(systemActor(), arrangement, 'Joint payroll');
    const inWorkspace = (await v.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId: workspace.id, name: 'Shared', serviceArea: 'payroll', classification: 'OFFICIAL' })).id;
    const member = await org.user({ teams: ['finance'] });
    const actor = actorFor((await v.vault.identity.userById(member.id))!, { channel: 'api', clientAddress: '127.0.0.1', requestId: 'classification-rows' });
    const finance = org.collections.finance!;
    const folder = async (name: string, parentId: string, classification: 'OFFICIAL' | 'OFFICIAL-SENSITIVE') =>
      (await v.vault.collectionCreation.create(actor, { organisationId: org.id, parentId, name, serviceArea: 'finance', classification })).id;
    const uploaded = async (name: string, collectionId: string) => {
      const up = await upload(v.app, member, collectionId, name, `${name}\n`);
      expect(up.statusCode, up.body).toBe(201);
      return up.json().id as string;
    };
    const sensitive = await folder('Sensitive', finance, 'OFFICIAL-SENSITIVE');
    const plain = await folder('Plain', finance, 'OFFICIAL');
    const sub = await folder('Sub', plain, 'OFFICIAL');
    const inside = await uploaded('inside.txt', sub);
    const original = await uploaded('original.txt', finance);
    const lowered = await uploaded('lowered.txt', sensitive);
    await v.vault.documents.classify(actor, lowered, 'OFFICIAL', 'Marked in error');
    const restored = await uploaded('restored.txt', sensitive);
    await v.vault.documents.classify(actor, restored, 'OFFICIAL', 'Marked in error');
    expect((await api(v.app, member).delete(`documents/${restored}`)).statusCode).toBe(204);
    expect((await api(v.app, member).post(`documents/${restored}/restore`)).statusCode).toBe(200);
    await v.vault.collectionMoves.move(actor, plain, { parentId: sensitive });
    await v.vault.collectionMoves.move(actor, sub, { parentId: finance });
    const copied = (await v.vault.filing.copy(actor, original, { collectionId: sensitive, name: 'copied.txt' })).id;
    const db = v.vault.store.db;
    const classificationOf = async (table: 'documents' | 'collections', id: string) =>
      (await db.selectFrom(table).select('classification').where('id', '=', id).executeTakeFirstOrThrow()).classification;
    const setDocument = (id: string, classification: string) => db.updateTable('documents').set({ classification }).where('id', '=', id).execute();
    const setCollection = (id: string, classification: string) => db.updateTable('collections').set({ classification }).where('id', '=', id).execute();
    const verify = () => v.vault.audit.verification.verify(systemActor());
    const expectNamed = async (problem: string) => {
      const check = await verify();
      expect(check.ok ? '' : check.problem).toContain(problem);
    };
    const setFacts = (table: 'documents' | 'collections', id: string, facts: { service_area?: string; arrangement_id?: string | null; organisation_id?: string }) =>
      db.updateTable(table).set(facts).where('id', '=', id).execute();
    return {
      v, org: org.id, partner, finance, arrangement: arrangement.id, workspace: workspace.id, inWorkspace, sensitive, plain, sub, inside, original, lowered, restored, copied,
      classificationOf, setDocument, setCollection, setFacts, verify, expectNamed,
    };
  }

  it('vouches for every classification the service set, raised or lowered, with or without an event of the record itself', async () => {
    const s = await setting();
    expect(await s.classificationOf('collections', s.plain)).toBe('OFFICIAL-SENSITIVE');
    expect(await s.classificationOf('collections', s.sub)).toBe('OFFICIAL-SENSITIVE');
    expect(await s.classificationOf('documents', s.inside)).toBe('OFFICIAL-SENSITIVE');
    expect(await s.classificationOf('documents', s.lowered)).toBe('OFFICIAL');
    expect(await s.classificationOf('documents', s.restored)).toBe('OFFICIAL-SENSITIVE');
    expect(await s.classificationOf('documents', s.copied)).toBe('OFFICIAL-SENSITIVE');
    expect(await s.classificationOf('documents', s.original)).toBe('OFFICIAL');
    expect(await s.verify()).toMatchObject({ ok: true });
  });

  it('names a document lowered by hand, whether its own event or a folder move above it raised it', async () => {
    const s = await setting();
    const sensitiveByHand = (id: string) => `Document ${id} is classified OFFICIAL, but the audit log gives it OFFICIAL-SENSITIVE: its row was changed in the database directly, not by Strongroom.`;
    for (const id of [s.inside, s.restored, s.copied]) {
      await s.setDocument(id, 'OFFICIAL');
      await s.expectNamed(sensitiveByHand(id));
      await s.setDocument(id, 'OFFICIAL-SENSITIVE');
    }
    await s.setDocument(s.lowered, 'OFFICIAL-SENSITIVE');
    await s.expectNamed(`Document ${s.lowered} is classified OFFICIAL-SENSITIVE, but the audit log gives it OFFICIAL`);
    await s.setDocument(s.lowered, 'official');
    await s.expectNamed(`Document ${s.lowered} is classified "official", which is no classification Strongroom has`);
    await s.setDocument(s.lowered, 'OFFICIAL');
    expect(await s.verify()).toMatchObject({ ok: true });
  });

  it('names a folder lowered by hand: one moved under a sensitive folder, one raised by its parent\'s move, one created sensitive', async () => {
    const s = await setting();
    for (const id of [s.plain, s.sub, s.sensitive]) {
      await s.setCollection(id, 'OFFICIAL');
      await s.expectNamed(`Collection ${id} is classified OFFICIAL, but the audit log gives it OFFICIAL-SENSITIVE: its row was changed in the database directly, not by Strongroom.`);
      await s.setCollection(id, 'OFFICIAL-SENSITIVE');
    }
    expect(await s.verify()).toMatchObject({ ok: true });
  });

  it('names a service area or an arrangement binding written by hand, on a document, a folder or a folder at the top', async () => {
    const s = await setting();
    await s.setFacts('documents', s.inside, { service_area: 'payroll' });
    await s.expectNamed(`Document ${s.inside} is in service area payroll, but its collection ${s.sub} is in finance: its row was changed in the database directly, not by Strongroom.`);
    await s.setFacts('documents', s.inside, { service_area: 'finance' });
    await s.setFacts('collections', s.sensitive, { arrangement_id: s.arrangement });
    await s.expectNamed(`Collection ${s.sensitive} is bound to arrangement ${s.arrangement}, but its parent collection ${s.finance} to no arrangement`);
    await s.setFacts('collections', s.sensitive, { arrangement_id: null });
    await s.setFacts('collections', s.finance, { arrangement_id: s.arrangement });
    await s.expectNamed(`Collection ${s.finance} is bound to arrangement ${s.arrangement}, but the audit log gives it no arrangement`);
    await s.setFacts('collections', s.finance, { arrangement_id: null, service_area: 'payroll' });
    await s.expectNamed(`Collection ${s.finance} is in service area payroll, but the audit log created it in finance`);
    await s.setFacts('collections', s.finance, { service_area: 'finance' });
    await s.setFacts('collections', s.inWorkspace, { arrangement_id: null });
    await s.expectNamed(`Collection ${s.inWorkspace} is bound to no arrangement, but its parent collection ${s.workspace} to arrangement ${s.arrangement}`);
    await s.setFacts('collections', s.inWorkspace, { arrangement_id: s.arrangement });
    expect(await s.verify()).toMatchObject({ ok: true });
  });

  it('names a document or folder written into another council, which that council\'s staff could then read', async () => {
    const s = await setting();
    const reader = await s.partner.user({ teams: ['finance'] });
    // The attack: another council's finance team reads the host's document once its row names their council.
    expect((await api(s.v.app, reader).get(`documents/${s.original}`)).statusCode).toBe(404);
    await s.setFacts('documents', s.original, { organisation_id: s.partner.id });
    expect((await api(s.v.app, reader).get(`documents/${s.original}`)).statusCode).toBe(200);
    await s.expectNamed(`Document ${s.original} is in organisation ${s.partner.id}, but its collection ${s.finance} is in ${s.org}: its row was changed in the database directly, not by Strongroom.`);
    await s.setFacts('documents', s.original, { organisation_id: s.org });
    await s.setFacts('collections', s.sub, { organisation_id: s.partner.id });
    await s.expectNamed(`Collection ${s.sub} is in organisation ${s.partner.id}, but its parent collection ${s.finance} is in ${s.org}: its row was changed in the database directly, not by Strongroom.`);
    await s.setFacts('collections', s.sub, { organisation_id: s.org });
    // A whole folder at the top and everything in it, each consistent with its parent.
    const db = s.v.vault.store.db;
    const below = async (id: string): Promise<string[]> => {
      const children = (await db.selectFrom('collections').select('id').where('parent_id', '=', id).execute()).map((r) => r.id);
      return [id, ...(await Promise.all(children.map(below))).flat()];
    };
    const tree = await below(s.finance);
    // Named afresh as it goes: the partner has a finance folder at its top, and live names are unique there.
    const { name } = await db.selectFrom('collections').select('name').where('id', '=', s.finance).executeTakeFirstOrThrow();
    await db.updateTable('collections').set({ name: `${name} (taken)`, name_key: nameKey(`${name} (taken)`) }).where('id', '=', s.finance).execute();
    await db.updateTable('collections').set({ organisation_id: s.partner.id }).where('id', 'in', tree).execute();
    await db.updateTable('documents').set({ organisation_id: s.partner.id }).where('collection_id', 'in', tree).execute();
    await s.expectNamed(`Collection ${s.finance} is in organisation ${s.partner.id}, but the audit log created it in ${s.org}: its row was changed in the database directly, not by Strongroom.`);
    await db.updateTable('collections').set({ organisation_id: s.org }).where('id', 'in', tree).execute();
    await db.updateTable('collections').set({ name, name_key: nameKey(name) }).where('id', '=', s.finance).execute();
    await db.updateTable('documents').set({ organisation_id: s.org }).where('collection_id', 'in', tree).execute();
    expect(await s.verify()).toMatchObject({ ok: true });
  });
});
