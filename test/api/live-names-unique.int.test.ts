// The database's own guarantee that a live name is held once (migration 202612200000): a second live document
// of one name in a collection, or a second live collection of one name among its siblings, is refused by the
// database itself, written by a path that forgot to claim the name or by hand; binned ones may share it. And a
// write whose claim missed (services/name-claims.ts: the claim read nothing, as in a race it lost) is refused
// as the claim refuses, in today's words, with nothing written: the index is the backstop, the claim the voice.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CollectionsRepo } from '../../src/db/repos/collections.repo.js';
import { DocumentsRepo } from '../../src/db/repos/documents.repo.js';
import { givingLiveName, violatesUniqueIndex } from '../../src/db/unique-violations.js';
import { LIVE_NAME_KEY_INDEXES } from '../../src/db/migrations/202612260000_live_name_keys.js';
import { LiveNameTakenError, type DomainError } from '../../src/domain/errors.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('a live name held once, by the database, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  afterEach(() => {
    vi.restoreAllMocks();
  });

  async function member() {
    const org = await createOrganisation(t.vault);
    const staff = await org.user({ roles: ['member', 'records_manager'], teams: ['payroll'] });
    const actor = actorFor((await t.vault.identity.userById(staff.id))!, { channel: 'api', clientAddress: null, requestId: null });
    return { org, staff, actor, payroll: org.collections.payroll! };
  }

  const uploaded = async (staff: Awaited<ReturnType<typeof member>>['staff'], collectionId: string, name: string) => {
    const res = await upload(t.app, staff, collectionId, name, `${name}\n`);
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  };

  /** Inserts, bypassing every claim, a copy of document `id`'s row under a new id, with `changes`. */
  async function insertDocumentRowLike(id: string, changes: Record<string, unknown>) {
    const db = t.vault.store.db;
    const row = await db.selectFrom('documents').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    await db.insertInto('documents').values({ ...row, id: randomUUID(), ...changes } as never).execute();
  }

  async function insertCollectionRowLike(id: string, changes: Record<string, unknown>) {
    const db = t.vault.store.db;
    const row = await db.selectFrom('collections').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    await db.insertInto('collections').values({ ...row, id: randomUUID(), ...changes } as never).execute();
  }

  const refusal = (promise: Promise<unknown>) => promise.then(() => null, (e: unknown) => e as DomainError);

  it('refuses a second live document of one name in a collection written without a claim, and lets binned ones share it', async () => {
    const { staff, payroll } = await member();
    const id = await uploaded(staff, payroll, 'payslips.txt');
    // The same name breaks both indexes (which the database names first is its own choice); another case of it, the key's.
    expect(await refusal(givingLiveName('document', () => insertDocumentRowLike(id, {})))).toBeInstanceOf(LiveNameTakenError);
    expect(violatesUniqueIndex(await refusal(insertDocumentRowLike(id, { name: 'PAYSLIPS.txt' })), LIVE_NAME_KEY_INDEXES.documents)).toBe(true);
    await insertDocumentRowLike(id, { deleted_at: new Date().toISOString() });
    await insertDocumentRowLike(id, { deleted_at: new Date().toISOString() });
    const rows = await t.vault.store.db.selectFrom('documents').select(['deleted_at']).where('collection_id', '=', payroll).where('name', '=', 'payslips.txt').execute();
    expect(rows.map((r) => r.deleted_at === null).sort()).toEqual([false, false, true]);
  });

  it('refuses a second live collection of one name under a parent or at the top level written without a claim, and lets binned ones share it', async () => {
    const { org, payroll } = await member();
    const child = await t.vault.collectionCreation.create(systemActor(), { organisationId: org.id, name: 'Salaries', parentId: payroll, serviceArea: 'payroll', classification: 'OFFICIAL' });
    expect(await refusal(givingLiveName('collection', () => insertCollectionRowLike(child.id, {})))).toBeInstanceOf(LiveNameTakenError);
    expect(await refusal(givingLiveName('collection', () => insertCollectionRowLike(payroll, {})))).toBeInstanceOf(LiveNameTakenError);
    expect(violatesUniqueIndex(await refusal(insertCollectionRowLike(child.id, { name: 'SALARIES' })), LIVE_NAME_KEY_INDEXES.children)).toBe(true);
    expect(violatesUniqueIndex(await refusal(insertCollectionRowLike(payroll, { name: 'PAYROLL' })), LIVE_NAME_KEY_INDEXES.top)).toBe(true);
    await insertCollectionRowLike(child.id, { deleted_at: new Date().toISOString() });
    await insertCollectionRowLike(payroll, { deleted_at: new Date().toISOString() });
    // The same name under another parent, or in another organisation's top level, is another place.
    const other = await createOrganisation(t.vault);
    await insertCollectionRowLike(child.id, { parent_id: other.collections.payroll!, organisation_id: other.id });
    expect((await t.vault.store.db.selectFrom('collections').select('id').where('name', '=', 'Salaries').execute()).length).toBe(3);
  });

  /**
   * Every claim of a name misses what holds it, as a claim that lost a race would (until the write is refused):
   * the check before the transaction and the claim inside it read nothing; reads after it read the truth.
   */
  function claimsMiss() {
    let claimed = false;
    const documentByName = DocumentsRepo.prototype.byName;
    const collectionByName = CollectionsRepo.prototype.childByName;
    const documentsHoldingName = DocumentsRepo.prototype.holdersOfName;
    const collectionsHoldingName = CollectionsRepo.prototype.childrenHoldingName;
    vi.spyOn(DocumentsRepo.prototype, 'byName').mockImplementation(function (this: DocumentsRepo, ...args) {
      return claimed ? documentByName.apply(this, args) : Promise.resolve(undefined);
    });
    vi.spyOn(CollectionsRepo.prototype, 'childByName').mockImplementation(function (this: CollectionsRepo, ...args) {
      return claimed ? collectionByName.apply(this, args) : Promise.resolve(undefined);
    });
    vi.spyOn(DocumentsRepo.prototype, 'holdersOfName').mockImplementation(function (this: DocumentsRepo, ...args) {
      return claimed ? documentsHoldingName.apply(this, args) : Promise.resolve([]);
    });
    vi.spyOn(CollectionsRepo.prototype, 'childrenHoldingName').mockImplementation(function (this: CollectionsRepo, ...args) {
      return claimed ? collectionsHoldingName.apply(this, args) : Promise.resolve([]);
    });
    const missed = () => {
      claimed = true;
      return Promise.resolve([]);
    };
    const documentClaims = vi.spyOn(DocumentsRepo.prototype, 'claimName').mockImplementation(missed);
    const collectionClaims = vi.spyOn(CollectionsRepo.prototype, 'claimName').mockImplementation(missed);
    return () => {
      expect(documentClaims.mock.calls.length + collectionClaims.mock.calls.length).toBeGreaterThan(0);
      vi.restoreAllMocks();
    };
  }

  const liveNamed = async (collectionId: string, name: string) =>
    (await t.vault.store.db.selectFrom('documents').select('id').where('collection_id', '=', collectionId).where('name', '=', name).where('deleted_at', 'is', null).execute()).map((r) => r.id);

  it('refuses an upload, a rename and a copy whose claim missed the document holding the name, in the claim\'s words', async () => {
    const { staff, actor, payroll } = await member();
    const holder = await uploaded(staff, payroll, 'payslips.txt');
    const other = await uploaded(staff, payroll, 'draft.txt');

    let done = claimsMiss();
    const res = await upload(t.app, staff, payroll, 'payslips.txt', 'a second one\n');
    done();
    expect(expectProblem(res, 409).detail).toBe('A document called "payslips.txt" already exists in this collection. Upload a new version of it instead.');

    done = claimsMiss();
    const renamed = await refusal(t.vault.filing.move(actor, other, { name: 'payslips.txt' }));
    done();
    expect({ code: renamed?.code, message: renamed?.message }).toEqual({ code: 'CONFLICT', message: 'A document called "payslips.txt" already exists there.' });

    done = claimsMiss();
    const copied = await refusal(t.vault.filing.copy(actor, other, { collectionId: payroll, name: 'payslips.txt' }));
    done();
    expect({ code: copied?.code, message: copied?.message }).toEqual({ code: 'CONFLICT', message: 'A document called "payslips.txt" already exists there.' });

    expect(await liveNamed(payroll, 'payslips.txt')).toEqual([holder]);
    expect(await liveNamed(payroll, 'draft.txt')).toEqual([other]);
  });

  it('refuses a restore whose claim missed the document now holding its name, in today\'s words', async () => {
    const { staff, payroll } = await member();
    const binned = await uploaded(staff, payroll, 'report.txt');
    expect((await api(t.app, staff).delete(`documents/${binned}`)).statusCode).toBe(204);
    const holder = await uploaded(staff, payroll, 'report.txt');
    const done = claimsMiss();
    const res = await api(t.app, staff).post(`documents/${binned}/restore`);
    done();
    expect(expectProblem(res, 409).detail).toBe('A document called "report.txt" now exists in that collection; rename it first.');
    expect(await liveNamed(payroll, 'report.txt')).toEqual([holder]);
  });

  it('refuses a folder create, rename or move whose claim missed the collection holding the name, in the claim\'s words', async () => {
    const { org, actor, payroll } = await member();
    const create = (name: string, parentId: string | null) => t.vault.collectionCreation.create(actor, { organisationId: org.id, name, parentId, serviceArea: 'payroll', classification: 'OFFICIAL' });
    const salaries = await create('Salaries', payroll);
    const pensions = await create('Pensions', payroll);
    const taken = { code: 'CONFLICT', message: 'A collection called "Salaries" already exists there.' };
    const told = (error: DomainError | null) => ({ code: error?.code, message: error?.message });

    let done = claimsMiss();
    const created = await refusal(create('Salaries', payroll));
    done();
    expect(told(created)).toEqual(taken);

    done = claimsMiss();
    const renamed = await refusal(t.vault.collectionMoves.move(actor, pensions.id, { name: 'Salaries' }));
    done();
    expect(told(renamed)).toEqual(taken);

    done = claimsMiss();
    const topCreated = await refusal(t.vault.collectionCreation.create(systemActor(), { organisationId: org.id, name: 'payroll', serviceArea: 'payroll', classification: 'OFFICIAL' }));
    done();
    expect(told(topCreated)).toEqual({ code: 'CONFLICT', message: 'A collection called "payroll" already exists there.' });

    const live = await t.vault.store.db.selectFrom('collections').select(['id', 'name']).where('organisation_id', '=', org.id).where('deleted_at', 'is', null).where('name', 'in', ['Salaries', 'Pensions', 'payroll']).orderBy('name').execute();
    expect(live).toEqual([{ id: pensions.id, name: 'Pensions' }, { id: salaries.id, name: 'Salaries' }, { id: payroll, name: 'payroll' }]);
  });
});
