// A folder's listing with its binned documents, over REST (`includeDeleted=true`) and on the web (`?deleted=1`),
// holds every document of a folder of more than 10,000 exactly once, in order of name then id, even where binned
// documents share a name with each other and with a live one across a page's edge. Until 6 December both read the
// first 10,000 rows whole and said nothing of the rest (and REST paged by name alone, skipping a shared name's
// other documents); a reader below some documents' clearance got fewer still. Their pages are of what they may read.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DocumentsRepo } from '../../src/db/repos/documents.repo.js';
import { FOLDER_SCREEN } from '../../src/http/ui/browse.routes.js';
import { cloneDocuments } from '../support/cloned-documents.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, upload, type TestUser } from '../support/vault.js';
import { FormClient } from '../ui/support.js';

const clamd = useClamd();
/** Distinct names, one live document each (but BINNED_ONLY's, binned). */
const NAMES = 10_300;
const nameOf = (k: number) => `doc-${String(k).padStart(5, '0')}.txt`;
/**
 * Extra binned documents of a name: sorted, 495's thirteen cross position 500 (a page's and a screen's edge),
 * 5486's ten (all binned) cross 5,500, and 9970's thirty-one cross 10,000 (where a REST answer ends).
 */
const COPIES = new Map([[495, 12], [5486, 9], [9970, 30]]);
const BINNED_ONLY = 5486;
/** Above the reader's clearance: every third name's document, and every other binned copy. */
const hiddenName = (k: number) => k % 3 === 2;
const REST_PAGE = 10_000;

interface Row { name: string; binned: boolean; hidden: boolean }

describe.each(DIALECTS)('a folder\'s listing with its binned documents on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let base: string;
  let folder: string;
  let staff: TestUser;
  let reader: TestUser;
  /** Every document, in order of name then id, and those the reader may read. */
  let all: { id: string; name: string; hidden: boolean; binned: boolean }[];
  let readable: { id: string; name: string }[];
  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const org = await createOrganisation(t.vault);
    folder = org.collections.finance!;
    staff = await org.user({ teams: ['finance'] });
    reader = await org.user({ teams: ['finance'], clearance: 'OFFICIAL' });
    const rows: Row[] = Array.from({ length: NAMES }, (_, k) => ({ name: nameOf(k), binned: k === BINNED_ONLY, hidden: hiddenName(k) }));
    for (const [k, copies] of COPIES) for (let j = 0; j < copies; j++) rows.push({ name: nameOf(k), binned: true, hidden: j % 2 === 1 });
    const template = (await upload(t.app, staff, folder, rows[0]!.name, 'a finance paper\n')).json().id as string;
    const binnedAt = new Date(Date.UTC(2026, 11, 1)).toISOString();
    await cloneDocuments(t.vault.store.db, template, rows.length - 1, (i) => rows[i + 1]!.name, (i) => ({
      deleted_at: rows[i + 1]!.binned ? binnedAt : null, classification: rows[i + 1]!.hidden ? 'OFFICIAL-SENSITIVE' : 'OFFICIAL',
    }));
    const stored = await t.vault.store.db.selectFrom('documents').select(['id', 'name', 'classification', 'deleted_at']).where('collection_id', '=', folder).execute();
    all = stored.map((d) => ({ id: d.id, name: d.name, hidden: d.classification === 'OFFICIAL-SENSITIVE', binned: d.deleted_at !== null }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1));
    readable = all.filter((d) => !d.hidden).map(({ id, name }) => ({ id, name }));
    expect(all).toHaveLength(NAMES + 51);
    expect(readable.length).toBeGreaterThan(FOLDER_SCREEN * 2);
    expect(readable.length).toBeLessThan(REST_PAGE);
  }, 300_000);
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const rest = (user: TestUser, query: string) => fetch(`${base}/api/v1/collections/${folder}?includeDeleted=true${query}`, { headers: { authorization: `Bearer ${user.token}` } });

  /** Walks the REST listing as its documentation says: page on after the last of an answer of 10,000. */
  async function restPages(user: TestUser): Promise<{ id: string; name: string }[][]> {
    const pages: { id: string; name: string }[][] = [];
    for (let query = ''; ;) {
      const res = await rest(user, query);
      expect(res.status).toBe(200);
      const documents = ((await res.json()) as { documents: { id: string; name: string }[] }).documents.map((d) => ({ id: d.id, name: d.name }));
      pages.push(documents);
      if (documents.length < REST_PAGE) return pages;
      const last = documents[documents.length - 1]!;
      query = `&documentsAfter=${encodeURIComponent(last.name)}&documentsAfterId=${last.id}`;
    }
  }

  it('REST: every document exactly once, in order, 10,000 an answer, continuing after the last name and id', async () => {
    const pages = await restPages(staff);
    expect(pages.map((p) => p.length)).toEqual([REST_PAGE, all.length - REST_PAGE]);
    // The first answer ends inside the thirty-one documents of one name.
    expect(pages[0]!.at(-1)!.name).toBe(nameOf(9970));
    expect(pages[1]![0]!.name).toBe(nameOf(9970));
    expect(pages.flat()).toEqual(all.map(({ id, name }) => ({ id, name })));
  });

  it('REST: includeDeleted=false lists the live documents alone, and a value neither true nor false is refused', async () => {
    const res = await fetch(`${base}/api/v1/collections/${folder}?includeDeleted=false`, { headers: { authorization: `Bearer ${reader.token}` } });
    expect(res.status).toBe(200);
    const documents = ((await res.json()) as { documents: { id: string; name: string }[] }).documents.map((d) => ({ id: d.id, name: d.name }));
    expect(documents).toEqual(all.filter((d) => !d.hidden && !d.binned).map(({ id, name }) => ({ id, name })));
    const odd = await fetch(`${base}/api/v1/collections/${folder}?includeDeleted=yes`, { headers: { authorization: `Bearer ${reader.token}` } });
    expect(odd.status).toBe(400);
  });

  it('REST: a cursor whose id a client upper-cased continues where the lower-case one does', async () => {
    const last = all[REST_PAGE - 1]!;
    const page = async (id: string) => {
      const res = await rest(staff, `&documentsAfter=${encodeURIComponent(last.name)}&documentsAfterId=${id}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { documents: { id: string }[] }).documents.map((d) => d.id);
    };
    const expected = all.slice(REST_PAGE).map((d) => d.id);
    expect(await page(last.id)).toEqual(expected);
    expect(await page(last.id.toUpperCase())).toEqual(expected);
  });

  it('REST: a reader below some documents\' clearance gets every one they may read, none other, and no answer made short by those', async () => {
    const pages = await restPages(reader);
    expect(pages.flat()).toEqual(readable);
  });

  it('REST: the live listing too holds every live document a reader may read when those they may not would have filled 10,000 rows', async () => {
    const res = await fetch(`${base}/api/v1/collections/${folder}`, { headers: { authorization: `Bearer ${reader.token}` } });
    expect(res.status).toBe(200);
    const documents = ((await res.json()) as { documents: { id: string; name: string }[] }).documents.map((d) => ({ id: d.id, name: d.name }));
    expect(documents).toEqual(all.filter((d) => !d.hidden && !d.binned).map(({ id, name }) => ({ id, name })));
  });

  it('REST: reads the binned listing 500 rows at a time, after the last name and id read', async () => {
    const inCollection = vi.spyOn(DocumentsRepo.prototype, 'inCollection');
    const res = await rest(staff, '');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { documents: unknown[] }).documents).toHaveLength(REST_PAGE);
    expect(inCollection.mock.calls.slice(0, 2).map(([, options]) => options)).toEqual([
      { includeDeleted: true, limit: 500 },
      { includeDeleted: true, limit: 500, after: all[499]!.name, afterId: all[499]!.id },
    ]);
    expect(inCollection.mock.calls).toHaveLength(REST_PAGE / 500);
  });

  it('REST: documentsAfterId without documentsAfter is refused (400)', async () => {
    const res = await rest(staff, `&documentsAfterId=${all[0]!.id}`);
    expect(res.status).toBe(400);
  });

  const listed = (html: string) => [...html.matchAll(/<a class="govuk-link" href="\/documents\/([^"]+)">([^<]+)<\/a>/g)].map((m) => ({ id: m[1]!, name: m[2]! }));
  const nextLink = (html: string) => /id="next-documents" href="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&') ?? null;

  /** Follows the bin view's "Next documents" links from its first screen, checking each link continues after the last document shown. */
  async function screens(user: TestUser): Promise<{ shown: { id: string; name: string }[][]; pages: string[] }> {
    const client = new FormClient(base);
    await client.signIn(user.email);
    const shown: { id: string; name: string }[][] = [];
    const pages: string[] = [];
    for (let path: string | null = `/collections/${folder}?deleted=1`; path !== null;) {
      const page = await client.get(path);
      expect(page.status).toBe(200);
      const documents = listed(page.text);
      shown.push(documents);
      pages.push(page.text);
      path = nextLink(page.text);
      if (path !== null) {
        const last = documents[documents.length - 1]!;
        expect(path).toBe(`/collections/${folder}?deleted=1&after=${encodeURIComponent(last.name)}&afterId=${last.id}`);
      }
      if (shown.length > 1) expect(page.text).toContain(`href="/collections/${folder}?deleted=1" rel="prev"`);
    }
    return { shown, pages };
  }

  it(`web: the bin view shows every document exactly once, in order, ${FOLDER_SCREEN} a screen`, async () => {
    const { shown } = await screens(staff);
    expect(shown.map((s) => s.length)).toEqual([...Array.from({ length: Math.floor(all.length / FOLDER_SCREEN) }, () => FOLDER_SCREEN), all.length % FOLDER_SCREEN]);
    expect(shown.flat()).toEqual(all.map(({ id, name }) => ({ id, name })));
  });

  it('web: a reader below some documents\' clearance sees full screens of what they may read, and no link or page names a document they may not', async () => {
    const { shown, pages } = await screens(reader);
    expect(shown.map((s) => s.length)).toEqual([...Array.from({ length: Math.floor(readable.length / FOLDER_SCREEN) }, () => FOLDER_SCREEN), readable.length % FOLDER_SCREEN]);
    expect(shown.flat()).toEqual(readable);
    const hidden = new Set(all.filter((d) => d.hidden).map((d) => d.id));
    const named = pages.flatMap((page) => [...page.matchAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g)].map((m) => m[0]));
    expect(named.filter((id) => hidden.has(id))).toEqual([]);
  });
});
