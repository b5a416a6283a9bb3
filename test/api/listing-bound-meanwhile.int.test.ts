// A folder listed page by page while what bounds the reader changes: their clearance (an org admin changes it), or
// the ceiling of the arrangement that reaches the folder (a row edited in the database). Each page asks the store only
// for the classifications the reader may read as they are when it is read (AccessService.readableClassifications) and
// continues after the last row it read, so across page edges no document is listed twice, the documents readable all
// along are every one listed in order, and none is listed above the bound of the page that reached it. A page reads up
// to its size of rows within its bound, so a first page read below a clearance raised afterwards reaches further than
// one reading every row would: the documents it passed over above that bound are not gone back for, as a listing
// never went back over rows an earlier page refused.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Actor, Classification } from '../../src/domain/types.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { cloneDocuments } from '../support/cloned-documents.js';
import { useClamd } from '../support/fixture.js';
import { sharedService } from '../support/shared-service.js';
import { DIALECTS, upload, type TestOrganisation, type TestUser } from '../support/vault.js';
import { useDavServer } from '../webdav/support.js';

const clamd = useClamd();

/** Six pages of 20, one document in three OFFICIAL (and the template), the rest OFFICIAL-SENSITIVE. */
const CLONES = 119;
const PAGE = 20;
const nameOf = (i: number): string => `case-${String(i).padStart(4, '0')}.txt`;
const isOfficial = (i: number): boolean => i % 3 === 0;
const OFFICIAL_NAMES = ['a-template.txt', ...Array.from({ length: CLONES }, (_, i) => i).filter(isOfficial).map(nameOf)];
const SENSITIVE_NAMES = Array.from({ length: CLONES }, (_, i) => i).filter((i) => !isOfficial(i)).map(nameOf);

describe.each(DIALECTS)('a folder listed while the reader\'s bound changes between pages, on %s', (dialect) => {
  const s = useDavServer(dialect, clamd);
  let host: TestOrganisation;
  let partner: TestOrganisation;
  let arrangementId: string;
  const folders: Record<'host' | 'partner', string> = { host: '', partner: '' };
  beforeAll(async () => {
    let arrangement;
    ({ host, partner, arrangement } = await sharedService(s.vault, 'finance'));
    arrangementId = arrangement.id;
    for (const [which, org] of [['host', host], ['partner', partner]] as const) {
      const uploader = await org.user({ teams: ['finance'] });
      folders[which] = org.collections.finance!;
      const template = await upload(s.app, uploader, folders[which], 'a-template.txt', 'case file');
      expect(template.statusCode, template.body).toBe(201);
      await cloneDocuments(s.vault.store.db, template.json().id, CLONES, nameOf, (i) => ({ classification: isOfficial(i) ? 'OFFICIAL' : 'OFFICIAL-SENSITIVE' }));
    }
  }, 120_000);

  const actorOf = async (user: TestUser): Promise<Actor> =>
    actorFor((await s.vault.store.repos.users.byId(user.id))!, { channel: 'api', clientAddress: null, requestId: null });
  const setClearance = async (user: TestUser, clearance: Classification): Promise<void> => {
    await s.vault.people.update(systemActor(), user.id, { clearance });
  };

  /** The listing's pages as names with classifications, `meanwhile` run after the first page was taken. */
  async function walk(actor: Actor, collectionId: string, meanwhile: () => Promise<void>): Promise<{ name: string; classification: Classification }[][]> {
    const listing = await s.vault.collections.listInPages(actor, collectionId, PAGE, { upTo: Number.POSITIVE_INFINITY });
    const pages: { name: string; classification: Classification }[][] = [];
    for await (const page of listing.documentPages) {
      pages.push(page.map((d) => ({ name: d.name, classification: d.classification })));
      if (pages.length === 1) await meanwhile();
    }
    return pages;
  }
  const names = (docs: { name: string }[]): string[] => docs.map((d) => d.name);
  const official = (docs: { name: string; classification: Classification }[]) => names(docs.filter((d) => d.classification === 'OFFICIAL'));
  const sensitive = (docs: { name: string; classification: Classification }[]) => names(docs.filter((d) => d.classification === 'OFFICIAL-SENSITIVE'));

  it('clearance lowered after the first page: no later page holds a document above it, and every OFFICIAL one is listed once', async () => {
    const reader = await host.user({ teams: ['finance'], clearance: 'OFFICIAL-SENSITIVE' });
    const pages = await walk(await actorOf(reader), folders.host, () => setClearance(reader, 'OFFICIAL'));
    const listed = pages.flat();
    expect(names(pages[0]!)).toEqual(['a-template.txt', ...Array.from({ length: PAGE - 1 }, (_, i) => nameOf(i))]);
    expect(sensitive(pages.slice(1).flat())).toEqual([]);
    expect(official(listed)).toEqual(OFFICIAL_NAMES);
    expect(names(listed)).toEqual([...names(listed)].sort());
  });

  it('clearance raised after the first page: every OFFICIAL one listed once, and OFFICIAL-SENSITIVE ones only past the first page', async () => {
    const reader = await host.user({ teams: ['finance'], clearance: 'OFFICIAL' });
    const pages = await walk(await actorOf(reader), folders.host, () => setClearance(reader, 'OFFICIAL-SENSITIVE'));
    const listed = pages.flat();
    expect(names(pages[0]!)).toEqual(OFFICIAL_NAMES.slice(0, PAGE));
    expect(official(listed)).toEqual(OFFICIAL_NAMES);
    const lastOfFirst = OFFICIAL_NAMES[PAGE - 1]!;
    expect(sensitive(listed)).toEqual(SENSITIVE_NAMES.filter((n) => n > lastOfFirst));
    expect(names(listed)).toEqual([...names(listed)].sort());
  });

  it('an arrangement\'s ceiling edited down after the first page: a host\'s staff at the partner get no later document above it', async () => {
    const reader = await host.user({ teams: ['finance'], clearance: 'OFFICIAL-SENSITIVE' });
    await s.vault.store.db.updateTable('arrangements').set({ ceiling: 'OFFICIAL-SENSITIVE' }).where('id', '=', arrangementId).execute();
    try {
      const pages = await walk(await actorOf(reader), folders.partner, async () => {
        await s.vault.store.db.updateTable('arrangements').set({ ceiling: 'OFFICIAL' }).where('id', '=', arrangementId).execute();
      });
      const listed = pages.flat();
      expect(names(pages[0]!)).toEqual(['a-template.txt', ...Array.from({ length: PAGE - 1 }, (_, i) => nameOf(i))]);
      expect(sensitive(pages.slice(1).flat())).toEqual([]);
      expect(official(listed)).toEqual(OFFICIAL_NAMES);
    } finally {
      await s.vault.store.db.updateTable('arrangements').set({ ceiling: 'OFFICIAL' }).where('id', '=', arrangementId).execute();
    }
  });
});
