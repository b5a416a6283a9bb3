// The SearchIndex contract (domain/search/repositories.ts), run on both dialects with the same world
// and the same expectations: so SQLite's FTS5 and PostgreSQL's blind index answer the same queries
// the same way, apply the readable scope inside the query, and forget removed text.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readableScope } from '../../src/domain/access/readable-scope.js';
import { parseSearchQuery } from '../../src/domain/search/query.js';
import type { IndexQuery, SearchIndex } from '../../src/domain/search/repositories.js';
import { normaliseTerms } from '../../src/domain/search/terms.js';
import type { DocumentType, QueryTerm, ReadableScope, SearchQuery, SearchSort, TextSection } from '../../src/domain/search/types.js';
import type { Actor, Arrangement, Classification, Document, Version } from '../../src/domain/types.js';
import { PostgresSearchIndex } from '../../src/db/repos/search.postgres.js';
import type { Store } from '../../src/db/store.js';
import { MasterKey } from '../../src/storage/keys.js';
import { DerivedSearchKeys } from '../../src/storage/search-keys.js';
import { openTestStore, type TestStore } from '../support/store.js';
import { DIALECTS } from '../support/vault.js';

const NOW = new Date('2026-11-30T12:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const T0 = Date.parse('2026-11-01T09:00:00.000Z');

interface DocFacts {
  collection?: string;
  serviceArea?: string;
  classification?: Classification;
  status?: Document['status'];
  deleted?: boolean;
  arrangementId?: string | null;
  updatedAt?: string;
  name?: string;
  type?: DocumentType;
  sections?: TextSection[];
}

// PostgreSQL reads the scope from its copy beside the index either by a lookup per matching document
// or, when they are many, by one scan of the copy (search-plan.ts PlanOptions.scopeFrom); the third
// variant always scans, so both ways answer every test here. The small worlds here take the lookup.
const VARIANTS: { name: string; dialect: (typeof DIALECTS)[number]; scanScopeAbove?: number }[] = [
  ...DIALECTS.map((dialect) => ({ name: dialect, dialect })),
  { name: 'postgres, the scope scanned', dialect: 'postgres', scanScopeAbove: 0 },
];

describe.each(VARIANTS)('SearchIndex contract on $name', ({ dialect, scanScopeAbove }) => {
  let t: TestStore;
  let store: Store;
  let index: SearchIndex;
  beforeAll(async () => {
    t = await openTestStore(dialect);
    store = t.store;
    // The Store the test support opens has no search keys; PostgreSQL's index needs them.
    index = dialect === 'sqlite' ? store.repos.search : new PostgresSearchIndex(store.db, new DerivedSearchKeys(MasterKey.fromBytes(randomBytes(32))), { scanScopeAbove });
  });
  afterAll(async () => {
    await t?.remove();
  });

  async function organisation(): Promise<string> {
    const id = randomUUID();
    await store.repos.organisations.insert({ id, slug: `o-${randomBytes(5).toString('hex')}`, name: 'Council', kind: 'council', region: 'North', createdAt: iso(T0) });
    return id;
  }
  async function collection(organisationId: string, serviceArea = 'payroll', arrangementId: string | null = null): Promise<string> {
    const id = randomUUID();
    await store.repos.collections.insert({ id, organisationId, parentId: null, name: `c-${randomBytes(4).toString('hex')}`, serviceArea, classification: 'OFFICIAL', arrangementId, createdAt: iso(T0), deletedAt: null });
    return id;
  }
  async function arrangement(host: string, partners: string[], patch: Partial<Arrangement> = {}): Promise<Arrangement> {
    const a: Arrangement = {
      id: randomUUID(), hostOrganisationId: host, partnerOrganisationIds: [...partners].sort(), serviceArea: 'payroll', purpose: 'Shared payroll',
      lawfulBasis: 'public task', agreementReference: null, accessLevel: 'read', ceiling: 'OFFICIAL', startsAt: iso(T0 - 86_400_000), endsAt: null,
      annualSavingPounds: 0, status: 'active', acceptedBy: [...partners].sort(), revision: 1, termsRevision: 1, createdAt: iso(T0), updatedAt: iso(T0), ...patch,
    };
    await store.repos.arrangements.insert(a, null);
    return a;
  }
  /** A document row (and version) in the database, and its text in the index. */
  async function doc(organisationId: string, facts: DocFacts = {}): Promise<{ id: string; versionId: string }> {
    const id = randomUUID();
    const versionId = randomUUID();
    const collectionId = facts.collection ?? (await collection(organisationId, facts.serviceArea ?? 'payroll'));
    const v: Version = {
      id: versionId, documentId: id, organisationId, number: 1, size: 10, sha256: randomBytes(32).toString('hex'), mediaType: 'application/pdf',
      blobId: randomBytes(16).toString('hex'), wrappedKey: new Uint8Array(randomBytes(40)), keyId: randomUUID(), scanStatus: 'clean', scanDetail: null,
      scanEngine: 'clamd', scannedAt: iso(T0), authorId: null, createdAt: iso(T0),
    };
    const d: Document = {
      id, organisationId, collectionId, name: facts.name ?? 'untitled.pdf', classification: facts.classification ?? 'OFFICIAL', serviceArea: facts.serviceArea ?? 'payroll',
      status: facts.status ?? 'available', currentVersion: 1, currentVersionId: versionId, size: 10, sha256: v.sha256, mediaType: v.mediaType,
      arrangementId: facts.arrangementId ?? null, copiedFromDocumentId: null, copiedViaArrangementId: null, createdAt: iso(T0),
      updatedAt: facts.updatedAt ?? iso(T0), deletedAt: facts.deleted ? iso(T0) : null,
    };
    await store.transaction(async (r) => {
      await r.documents.insertDocument(d);
      await r.documents.insertVersion(v);
    });
    await index.replaceDocument({ organisationId, documentId: id, versionId, name: d.name, type: facts.type ?? 'pdf', sections: facts.sections ?? [] });
    return { id, versionId };
  }
  const ownScope = (...organisationIds: string[]): ReadableScope => ({
    grants: organisationIds.map((organisationId) => ({ organisationId, serviceAreas: 'all' as const, maxClassification: 'OFFICIAL-SENSITIVE' as const, arrangementId: null, via: null })),
  });
  async function find(q: string | SearchQuery, scope: ReadableScope, more: Partial<IndexQuery> = {}): Promise<string[]> {
    const r = await index.search({ query: typeof q === 'string' ? parseSearchQuery(q) : q, scope, filters: {}, sort: 'date', offset: 0, limit: 100, ...more });
    expect(r.total).toBe(r.hits.length);
    return r.hits.map((h) => h.documentId);
  }
  const text = (t: string, page: number | null = null): TextSection => ({ page, text: t });

  describe('query syntax', () => {
    let org: string;
    let docs: Record<string, string>;
    beforeAll(async () => {
      org = await organisation();
      const add = async (key: string, name: string, sections: TextSection[], at: number) => [key, (await doc(org, { name, sections, updatedAt: iso(T0 + at) })).id] as const;
      docs = Object.fromEntries(await Promise.all([
        add('payslip', 'Payslip March.pdf', [text('Monthly payslip for the Café staff', 1), text('Annual leave balance: 12 days', 2)], 1),
        add('contract', 'Contract.docx', [text('Tender award for the leisure contract; annual review')], 2),
        add('leave', 'Leave policy.pdf', [text('Leave is annual. Staff on leave keep pay.', 1)], 3),
        add('budget', 'Budget 2027.xlsx', [text('Budgetary pressures and the budget gap')], 4),
        add('draft', 'Draft budget.docx', [text('Budget draft, do not circulate')], 5),
      ]));
    });
    const ids = (...keys: string[]) => keys.map((k) => docs[k]!);

    it('finds words anywhere in a document, its name included, folded the same way', async () => {
      expect(await find('cafe', ownScope(org))).toEqual(ids('payslip'));
      expect(await find('CAFÉ', ownScope(org))).toEqual(ids('payslip'));
      expect(await find('march', ownScope(org))).toEqual(ids('payslip'));
      // Every clause somewhere in the document, not necessarily in one section.
      expect(await find('payslip balance', ownScope(org))).toEqual(ids('payslip'));
      expect(await find('annual', ownScope(org))).toEqual(ids('leave', 'contract', 'payslip'));
    });

    it('matches a phrase within one section, in order', async () => {
      expect(await find('"annual leave"', ownScope(org))).toEqual(ids('payslip'));
      expect(await find('"leave annual"', ownScope(org))).toEqual([]);
      // "staff" and "annual" are both in the payslip, but not together in one section.
      expect(await find('"staff annual"', ownScope(org))).toEqual([]);
    });

    it('matches prefixes, excludes words and phrases, and ORs alternatives', async () => {
      expect(await find('budg*', ownScope(org))).toEqual(ids('draft', 'budget'));
      expect(await find('budget -draft', ownScope(org))).toEqual(ids('budget'));
      expect(await find('budg* -"do not circulate"', ownScope(org))).toEqual(ids('budget'));
      expect(await find('tender OR payslip', ownScope(org))).toEqual(ids('contract', 'payslip'));
      expect(await find('annual "annual leave" OR tender -policy', ownScope(org))).toEqual(ids('contract', 'payslip'));
    });

    it('treats a prefix longer than 10 characters as its first 10, on both dialects alike', async () => {
      const other = await organisation();
      const a = (await doc(other, { sections: [text('Administrations of the estate')], updatedAt: iso(T0 + 3) })).id;
      const b = (await doc(other, { sections: [text('The administrator signed')], updatedAt: iso(T0 + 2) })).id;
      const c = (await doc(other, { sections: [text('Administer it')], updatedAt: iso(T0 + 1) })).id;
      // "administrati*" is cut to "administra*": the administrator matches too, as it would on either dialect.
      expect(await find('administrati*', ownScope(other))).toEqual([a, b]);
      expect(await find('administra*', ownScope(other))).toEqual([a, b]);
      expect(await find('administ*', ownScope(other))).toEqual([a, b, c]);
      expect(await find('administrations', ownScope(other))).toEqual([a]);
      expect(await find('administrationsxyz*', ownScope(other))).toEqual([a, b]);
    });

    it('sorts by relevance with the best section and its page, or by date', async () => {
      const r = await index.search({ query: parseSearchQuery('leave'), scope: ownScope(org), filters: {}, sort: 'relevance', offset: 0, limit: 10 });
      expect(r.total).toBe(2);
      // The policy says "leave" three times (name and text); the payslip once.
      expect(r.hits.map((h) => [h.documentId, h.page])).toEqual([[docs.leave, 1], [docs.payslip, 2]]);
      expect(r.hits[0]!.score).toBeGreaterThan(r.hits[1]!.score);
      const byDate = await find('leave', ownScope(org), { sort: 'date' });
      expect(byDate).toEqual(ids('leave', 'payslip'));
      // The date sort ranks only its page's sections, and picks the same best section and score.
      const dated = await index.search({ query: parseSearchQuery('leave'), scope: ownScope(org), filters: {}, sort: 'date', offset: 0, limit: 10 });
      const bestOf = (hits: typeof r.hits) => new Map(hits.map((h) => [h.documentId, [h.section, h.page, h.score.toFixed(6)]]));
      expect(bestOf(dated.hits)).toEqual(bestOf(r.hits));
    });

    it('finds and ranks words of a section longer than one index chunk (16,000 terms on PostgreSQL) wherever they are in it', async () => {
      const other = await organisation();
      // "alpha" only in the first chunk, "omega zebra" only in the second (it starts 32 terms before the 16,000th).
      const long = `alpha ${'pad '.repeat(16_400)}omega zebra pad zebra pad zebra`;
      const longDoc = (await doc(other, { name: 'Long.pdf', sections: [text('short intro', 1), text(long, 2)], updatedAt: iso(T0 + 2) })).id;
      const shortDoc = (await doc(other, { name: 'Short.pdf', sections: [text('zebra crossing', 1)], updatedAt: iso(T0 + 1) })).id;
      expect(await find('zebra', ownScope(other))).toEqual([longDoc, shortDoc]);
      expect(await find('"omega zebra"', ownScope(other))).toEqual([longDoc]);
      expect(await find('alpha omega', ownScope(other))).toEqual([longDoc]);
      expect(await find('alpha "omega zebra" -crossing', ownScope(other))).toEqual([longDoc]);
      // Relevance ranks the matching chunks it found; the date sort looks the page's sections up again: same best section, same score.
      for (const q of ['zebra', 'alpha omega', '"omega zebra"']) {
        const search = (sort: SearchSort) => index.search({ query: parseSearchQuery(q), scope: ownScope(other), filters: {}, sort, offset: 0, limit: 10 });
        const [ranked, dated] = [await search('relevance'), await search('date')];
        const best = ranked.hits.find((h) => h.documentId === longDoc)!;
        expect([best.section, best.page]).toEqual([1, 2]);
        expect(best.score).toBeGreaterThan(0);
        const bestOf = (hits: typeof ranked.hits) => new Map(hits.map((h) => [h.documentId, [h.section, h.page, h.score.toFixed(6)]]));
        expect(bestOf(dated.hits)).toEqual(bestOf(ranked.hits));
      }
    });

    it('gives the stored text of the sections hits point at', async () => {
      const r = await index.search({ query: parseSearchQuery('balance'), scope: ownScope(org), filters: {}, sort: 'relevance', offset: 0, limit: 10 });
      const hit = r.hits[0]!;
      expect([hit.section, hit.page]).toEqual([1, 2]);
      const texts = await index.sectionTexts([
        { organisationId: org, documentId: hit.documentId, versionId: hit.versionId, section: hit.section },
        { organisationId: org, documentId: hit.documentId, versionId: randomUUID(), section: 0 },
      ]);
      expect([...texts]).toEqual([[`${hit.versionId}:1`, 'Annual leave balance: 12 days']]);
    });
  });

  describe('filters, facets and paging', () => {
    let org: string;
    let other: string;
    beforeAll(async () => {
      org = await organisation();
      other = await organisation();
      const hr = await collection(org, 'hr');
      for (let i = 0; i < 9; i++) {
        await doc(i % 3 === 0 ? other : org, {
          collection: i % 3 === 0 ? undefined : i % 3 === 1 ? hr : undefined,
          serviceArea: i % 3 === 1 ? 'hr' : 'payroll',
          classification: i % 2 === 0 ? 'OFFICIAL' : 'OFFICIAL-SENSITIVE',
          type: i < 4 ? 'pdf' : 'word',
          updatedAt: iso(Date.parse(i < 5 ? '2025-12-31T23:30:00.000Z' : '2026-06-30T23:30:00.000Z') + i),
          name: `report ${i}.pdf`,
          sections: [text(`quarterly report number ${i}`)],
        });
      }
    });

    it('counts facets over exactly the readable matching set', async () => {
      const r = await index.search({ query: parseSearchQuery('quarterly'), scope: ownScope(org, other), filters: {}, sort: 'date', offset: 0, limit: 3 });
      expect(r.total).toBe(9);
      expect(r.hits).toHaveLength(3);
      expect(r.facets.organisation).toEqual([{ value: org, count: 6 }, { value: other, count: 3 }].sort((a, b) => b.count - a.count));
      expect(r.facets.serviceArea).toEqual([{ value: 'payroll', count: 6 }, { value: 'hr', count: 3 }]);
      expect(r.facets.classification).toEqual([{ value: 'OFFICIAL', count: 5 }, { value: 'OFFICIAL-SENSITIVE', count: 4 }]);
      expect(r.facets.type).toEqual([{ value: 'word', count: 5 }, { value: 'pdf', count: 4 }]);
      expect(r.facets.year).toEqual([{ value: '2025', count: 5 }, { value: '2026', count: 4 }]);
      expect(r.facets.collection.reduce((n, f) => n + f.count, 0)).toBe(9);
      const mine = await index.search({ query: parseSearchQuery('quarterly'), scope: ownScope(org), filters: {}, sort: 'date', offset: 0, limit: 0 });
      expect(mine.total).toBe(6);
      expect(mine.hits).toEqual([]);
      expect(mine.facets.organisation).toEqual([{ value: org, count: 6 }]);
    });

    it('filters in the query, UK dates included', async () => {
      const scope = ownScope(org, other);
      const q = parseSearchQuery('quarterly');
      const count = async (filters: IndexQuery['filters']) => (await index.search({ query: q, scope, filters, sort: 'date', offset: 0, limit: 100 })).total;
      expect(await count({ organisationId: other })).toBe(3);
      expect(await count({ serviceArea: 'hr' })).toBe(3);
      expect(await count({ classification: 'OFFICIAL-SENSITIVE' })).toBe(4);
      expect(await count({ type: 'pdf' })).toBe(4);
      // 23:30 UTC on 30 June is 00:30 on 1 July in London (BST); 23:30 UTC on 31 December is still 31 December.
      expect(await count({ from: '2026-07-01' })).toBe(4);
      expect(await count({ to: '2026-06-30' })).toBe(5);
      expect(await count({ from: '2025-12-31', to: '2025-12-31' })).toBe(5);
      expect(await count({ organisationId: other, serviceArea: 'hr' })).toBe(0);
    });

    it('pages consistently: page 1 and page 2 are the first two pages of the full list', async () => {
      for (const sort of ['date', 'relevance'] as SearchSort[]) {
        const all = await find('quarterly OR report', ownScope(org, other), { sort });
        const page1 = await find('quarterly OR report', ownScope(org, other), { sort, limit: 4, offset: 0 }).catch(() => []);
        expect(all).toHaveLength(9);
        const r1 = await index.search({ query: parseSearchQuery('quarterly OR report'), scope: ownScope(org, other), filters: {}, sort, offset: 0, limit: 4 });
        const r2 = await index.search({ query: parseSearchQuery('quarterly OR report'), scope: ownScope(org, other), filters: {}, sort, offset: 4, limit: 4 });
        expect([r1.total, r2.total]).toEqual([9, 9]);
        expect([...r1.hits, ...r2.hits].map((h) => h.documentId)).toEqual(all.slice(0, 8));
        expect(page1).toEqual([]); // find() insists total == hits, which a page of 4 of 9 is not
      }
    });

    it('counts exactly up to the cap, says when more match, and pages the same whatever the cap', async () => {
      const q = parseSearchQuery('quarterly OR report');
      const scope = ownScope(org, other);
      const search = (more: Partial<IndexQuery>) => index.search({ query: q, scope, filters: {}, sort: 'date', offset: 0, limit: 4, ...more });
      for (const [countCap, total, totalIsLowerBound] of [[10, 9, false], [9, 9, false], [8, 8, true], [1, 1, true]] as const) {
        const r = await search({ countCap });
        expect([countCap, r.total, r.totalIsLowerBound]).toEqual([countCap, total, totalIsLowerBound]);
      }
      const unlimited = await search({});
      expect([unlimited.total, unlimited.totalIsLowerBound]).toEqual([9, false]);
      // Capped, the facets count the first 4 by last change (the 2026 reports 5 to 8; 6 is the other
      // organisation's), under either sort: the hits' sort does not choose which matches are counted.
      for (const sort of ['date', 'relevance'] as SearchSort[]) {
        const r = await search({ countCap: 4, sort });
        expect([r.total, r.totalIsLowerBound]).toEqual([4, true]);
        expect(r.facets.year).toEqual([{ value: '2026', count: 4 }]);
        expect(r.facets.type).toEqual([{ value: 'word', count: 4 }]);
        expect(r.facets.organisation).toEqual([{ value: org, count: 3 }, { value: other, count: 1 }]);
        expect(r.facets.collection.reduce((n, f) => n + f.count, 0)).toBe(4);
      }
      // Page 2 (and page 3, past a cap of 3) is the same page under any cap.
      for (const sort of ['date', 'relevance'] as SearchSort[]) {
        for (const offset of [4, 8]) {
          const pages = await Promise.all([1000, 9, 3, 1].map(async (countCap) => (await search({ sort, offset, countCap })).hits));
          expect(pages[0]!.length).toBe(offset === 4 ? 4 : 1);
          for (const hits of pages.slice(1)) expect(hits).toEqual(pages[0]);
        }
      }
    });
  });

  describe('lifecycle', () => {
    it('replaces the old version, renames, removes versions and documents', async () => {
      const org = await organisation();
      const { id, versionId } = await doc(org, { name: 'Letter.pdf', sections: [text('old wording here')] });
      expect(await find('old', ownScope(org))).toEqual([id]);
      const next = randomUUID();
      // The index shows only text of a version its document has (and may be read): the new version exists.
      const first = (await store.repos.documents.versionById(versionId))!;
      await store.repos.documents.insertVersion({ ...first, id: next, number: 2, blobId: randomBytes(16).toString('hex') });
      await index.replaceDocument({ organisationId: org, documentId: id, versionId: next, name: 'Letter.pdf', type: 'pdf', sections: [text('new wording')] });
      expect(await find('old', ownScope(org))).toEqual([]);
      expect(await find('new', ownScope(org))).toEqual([id]);
      expect(await index.sectionTexts([{ organisationId: org, documentId: id, versionId, section: 0 }])).toEqual(new Map());
      await index.renameDocument(id, 'Complaint reply.pdf');
      expect(await find('letter', ownScope(org))).toEqual([]);
      expect(await find('complaint', ownScope(org))).toEqual([id]);
      expect(await find('wording', ownScope(org))).toEqual([id]);
      await index.removeVersions([randomUUID()]);
      expect(await find('wording', ownScope(org))).toEqual([id]);
      await index.removeVersions([next]);
      expect(await find('wording OR complaint', ownScope(org))).toEqual([]);
      const second = await doc(org, { name: 'Second.pdf', sections: [text('wording')] });
      await index.removeDocuments([second.id]);
      expect(await find('wording OR second', ownScope(org))).toEqual([]);
    });

    it('reads deletion, status, moves and reclassification from the documents row at query time', async () => {
      const org = await organisation();
      const { id } = await doc(org, { sections: [text('canary lifecycle')] });
      const scope = { grants: [{ organisationId: org, serviceAreas: ['payroll'] as const, maxClassification: 'OFFICIAL' as const, arrangementId: null, via: null }] };
      expect(await find('lifecycle', scope)).toEqual([id]);
      const set = async (values: Record<string, unknown>) => store.db.updateTable('documents').set(values).where('id', '=', id).execute();
      for (const [change, undo] of [
        [{ deleted_at: iso(T0) }, { deleted_at: null }],
        [{ status: 'pending_scan' }, { status: 'available' }],
        [{ status: 'quarantined' }, { status: 'available' }],
        [{ classification: 'OFFICIAL-SENSITIVE' }, { classification: 'OFFICIAL' }],
        [{ service_area: 'hr' }, { service_area: 'payroll' }],
      ] as const) {
        await set(change);
        expect(await find('lifecycle', scope)).toEqual([]);
        await set(undo);
        expect(await find('lifecycle', scope)).toEqual([id]);
      }
    });
  });

  describe('readable scope', () => {
    it('finds exactly what decide() lets each person read', async () => {
      const [host, partner, outsider] = [await organisation(), await organisation(), await organisation()];
      const a = await arrangement(host, [partner], { ceiling: 'OFFICIAL' });
      const workspace = await collection(host, 'payroll', a.id);
      const word = `matrix${randomBytes(3).toString('hex')}`;
      const at = (n: number) => iso(T0 + n);
      const d = {
        hostPayroll: await doc(host, { sections: [text(word)], updatedAt: at(1) }),
        hostHr: await doc(host, { serviceArea: 'hr', sections: [text(word)], updatedAt: at(2) }),
        hostSensitive: await doc(host, { classification: 'OFFICIAL-SENSITIVE', sections: [text(word)], updatedAt: at(3) }),
        partnerPayroll: await doc(partner, { sections: [text(word)], updatedAt: at(4) }),
        partnerSensitive: await doc(partner, { classification: 'OFFICIAL-SENSITIVE', sections: [text(word)], updatedAt: at(5) }),
        partnerHr: await doc(partner, { serviceArea: 'hr', sections: [text(word)], updatedAt: at(6) }),
        joint: await doc(host, { collection: workspace, arrangementId: a.id, sections: [text(word)], updatedAt: at(7) }),
        outsiderPayroll: await doc(outsider, { sections: [text(word)], updatedAt: at(8) }),
        deleted: await doc(host, { deleted: true, sections: [text(word)], updatedAt: at(9) }),
        pending: await doc(host, { status: 'pending_scan', sections: [text(word)], updatedAt: at(10) }),
      };
      const name = Object.fromEntries(Object.entries(d).map(([k, v]) => [v.id, k]));
      const user = (organisationId: string, teams: string[], clearance: Classification = 'OFFICIAL', roles: Actor['roles'] = ['member']): Actor => ({
        kind: 'user', userId: randomUUID(), organisationId, roles, teams, clearance, channel: 'api', clientAddress: null, requestId: null,
      });
      const seen = async (actor: Actor, arrangements: Arrangement[]) =>
        (await find(word, readableScope(actor, arrangements, NOW))).map((id) => name[id]).sort();
      expect(await seen(user(host, ['payroll']), [a])).toEqual(['hostPayroll', 'joint', 'partnerPayroll']);
      expect(await seen(user(host, ['payroll'], 'OFFICIAL-SENSITIVE'), [a])).toEqual(['hostPayroll', 'hostSensitive', 'joint', 'partnerPayroll']);
      expect(await seen(user(host, ['hr']), [a])).toEqual(['hostHr']);
      expect(await seen(user(host, [], 'OFFICIAL-SENSITIVE', ['records_manager']), [a])).toEqual(['hostHr', 'hostPayroll', 'hostSensitive', 'joint']);
      expect(await seen(user(partner, ['payroll'], 'OFFICIAL-SENSITIVE'), [a])).toEqual(['joint', 'partnerPayroll', 'partnerSensitive']);
      expect(await seen(user(outsider, ['payroll']), [a])).toEqual(['outsiderPayroll']);
      // Suspended: the next search no longer reaches through it.
      const suspended = { ...a, status: 'suspended' as const };
      expect(await seen(user(host, ['payroll']), [suspended])).toEqual(['hostPayroll', 'joint']);
      expect(await seen(user(partner, ['payroll']), [suspended])).toEqual(['partnerPayroll']);
      expect(await find(word, { grants: [] })).toEqual([]);
    });
  });

  describe('generated worlds', () => {
    const VOCAB = ['rates', 'rebate', 'rebates', 'council', 'tax', 'leave', 'levy', 'payroll', 'pay'];
    const sectionArb = fc.array(fc.constantFrom(...VOCAB), { minLength: 0, maxLength: 6 }).map((w) => w.join(' '));
    const termArb: fc.Arbitrary<QueryTerm> = fc.oneof(
      fc.constantFrom(...VOCAB).map((term): QueryTerm => ({ kind: 'word', term })),
      fc.constantFrom('reb', 'rat', 'lev', 'pay', 'payr').map((prefix): QueryTerm => ({ kind: 'prefix', prefix })),
      fc.array(fc.constantFrom(...VOCAB), { minLength: 2, maxLength: 3 }).map((terms): QueryTerm => ({ kind: 'phrase', terms })),
    );
    const queryArb: fc.Arbitrary<SearchQuery> = fc.record({
      all: fc.array(fc.array(termArb, { minLength: 1, maxLength: 2 }).map((anyOf) => ({ anyOf })), { minLength: 1, maxLength: 2 }),
      none: fc.array(termArb, { maxLength: 1 }),
    });
    const docArb = fc.record({
      org: fc.nat({ max: 1 }),
      serviceArea: fc.constantFrom('payroll', 'hr'),
      classification: fc.constantFrom<Classification>('OFFICIAL', 'OFFICIAL-SENSITIVE'),
      deleted: fc.boolean(),
      name: sectionArb,
      sections: fc.array(sectionArb, { maxLength: 3 }),
    });
    const scopeArb = fc.record({ areas: fc.subarray(['payroll', 'hr']), clearance: fc.constantFrom<Classification>('OFFICIAL', 'OFFICIAL-SENSITIVE'), second: fc.boolean() });

    const inSection = (term: QueryTerm, terms: string[]): boolean => {
      if (term.kind === 'word') return terms.includes(term.term);
      if (term.kind === 'prefix') return terms.some((t) => t.startsWith(term.prefix));
      return terms.some((_, i) => term.terms.every((p, k) => terms[i + k] === p));
    };

    it('hits = matching ∩ readable, as a brute-force model over the same normalised terms computes', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(docArb, { minLength: 1, maxLength: 8 }), fc.array(fc.tuple(queryArb, scopeArb), { minLength: 1, maxLength: 4 }), async (docs, queries) => {
          const orgs = [await organisation(), await organisation()];
          const made: { id: string; spec: (typeof docs)[number]; sections: string[][] }[] = [];
          for (const [i, spec] of docs.entries()) {
            const { id } = await doc(orgs[spec.org]!, {
              serviceArea: spec.serviceArea, classification: spec.classification, deleted: spec.deleted, name: spec.name,
              sections: spec.sections.map((s) => text(s)), updatedAt: iso(T0 + i),
            });
            made.push({ id, spec, sections: [spec.name, ...spec.sections].map(normaliseTerms) });
          }
          for (const [query, s] of queries) {
            const scope: ReadableScope = {
              grants: (s.second ? orgs : orgs.slice(0, 1)).map((organisationId) => ({ organisationId, serviceAreas: s.areas as never, maxClassification: s.clearance, arrangementId: null, via: null })),
            };
            const readable = (m: (typeof made)[number]) =>
              !m.spec.deleted && (s.second || m.spec.org === 0) && s.areas.includes(m.spec.serviceArea) && (s.clearance === 'OFFICIAL-SENSITIVE' || m.spec.classification === 'OFFICIAL');
            const matches = (m: (typeof made)[number]) =>
              query.all.every((c) => c.anyOf.some((t) => m.sections.some((sec) => inSection(t, sec)))) && !query.none.some((t) => m.sections.some((sec) => inSection(t, sec)));
            const want = made.filter((m) => readable(m) && matches(m)).map((m) => m.id).reverse();
            expect(await find(query, scope, { sort: 'date' })).toEqual(want);
          }
        }),
        { numRuns: 25 },
      );
    }, 120_000);
  });

  if (dialect === 'sqlite') {
    it('compact() makes removed text leave the FTS index and the file', async () => {
      const org = await organisation();
      const canary = `canary${randomBytes(6).toString('hex')}`;
      const { id } = await doc(org, { name: `${canary}.pdf`, sections: [text(`The ${canary} sings`)] });
      expect(await find(canary, ownScope(org))).toEqual([id]);
      const vocab = async () => {
        await sql`create virtual table if not exists temp.search_vocab using fts5vocab(main, search_fts, 'row')`.execute(store.db);
        return (await sql<{ term: string }>`select term from temp.search_vocab where term = ${canary}`.execute(store.db)).rows;
      };
      expect(await vocab()).toEqual([{ term: canary }]);
      await index.removeDocuments([id]);
      await index.compact();
      expect(await find(canary, ownScope(org))).toEqual([]);
      expect(await vocab()).toEqual([]);
      const stored = await sql<{ n: number }>`select count(*) as n from search_sections where text like ${`%${canary}%`}`.execute(store.db);
      expect(Number(stored.rows[0]!.n)).toBe(0);
      // The FTS5 segments hold terms as (prefix-compressed) bytes: none may still carry the canary.
      const segments = await sql<{ block: Uint8Array }>`select block from search_fts_data`.execute(store.db);
      expect(segments.rows.some((r) => Buffer.from(r.block).includes(canary))).toBe(false);
      const file = (await sql<{ file: string }>`select file from pragma_database_list where name = 'main'`.execute(store.db)).rows[0]!.file;
      for (const f of [file, `${file}-wal`]) {
        const bytes = await readFile(f).catch(() => Buffer.alloc(0));
        expect(bytes.includes(canary)).toBe(false);
      }
    });
  }

  if (dialect === 'postgres' && scanScopeAbove === undefined) {
    it('stores no word of the text in clear, in any column or (when readable) in the cluster files', async () => {
      const org = await organisation();
      const canary = `canary${randomBytes(6).toString('hex')}`;
      // Only in the text: a document's name is a column of documents, outside the index.
      const { id } = await doc(org, { name: 'Report.pdf', sections: [text(`Confidential ${canary} appears here`, 1)] });
      expect(await find(canary, ownScope(org))).toEqual([id]);
      expect(await find(`${canary.slice(0, 5)}*`, ownScope(org))).toContain(id);
      const columns = await sql<{ table_name: string; column_name: string }>`
        select table_name, column_name from information_schema.columns
        where table_schema = 'public' and table_name like 'search_%' and data_type in ('text', 'bytea', 'tsvector', 'character varying')`.execute(store.db);
      expect(columns.rows.length).toBeGreaterThanOrEqual(8);
      for (const { table_name, column_name } of columns.rows) {
        const hits = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table_name)}
          where position(convert_to(${canary}, 'UTF8') in convert_to(${sql.ref(column_name)}::text, 'UTF8')) > 0
             or (${sql.ref(column_name)}::text ilike ${`%${Buffer.from(canary).toString('hex')}%`})`.execute(store.db);
        expect([table_name, column_name, hits.rows[0]!.n]).toEqual([table_name, column_name, 0]);
      }
      await sql`checkpoint`.execute(store.db).catch(() => undefined);
      const dir = (await sql<{ data_directory: string }>`show data_directory`.execute(store.db).catch(() => ({ rows: [] as { data_directory: string }[] }))).rows[0]?.data_directory;
      const readable = dir !== undefined && (await stat(dir).then(() => readdir(dir)).then(() => true, () => false));
      if (!readable) {
        console.warn(`not grepping the PostgreSQL cluster for the canary: its data directory (${dir ?? 'not shown to this role'}) is not readable by this process`);
        return;
      }
      const found: string[] = [];
      const walk = async (d: string): Promise<void> => {
        // Other suites create and drop databases meanwhile: a directory gone mid-walk was another database's
        // (this one's own files stay while it runs), so it holds none of this text.
        const entries = await readdir(d, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return [];
          throw error;
        });
        for (const entry of entries) {
          const p = path.join(d, entry.name);
          if (entry.isDirectory()) await walk(p);
          else if (entry.isFile() && (await readFile(p).catch(() => Buffer.alloc(0))).includes(canary)) found.push(p);
        }
      };
      await walk(dir);
      expect(found).toEqual([]);
    }, 120_000);
  }
});
