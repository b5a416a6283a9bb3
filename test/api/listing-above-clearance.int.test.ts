// A folder listed by someone cleared for few of its documents: a person whose clearance is OFFICIAL in a folder
// of OFFICIAL-SENSITIVE records, or a host's staff at a partner through an arrangement whose ceiling is OFFICIAL.
// Each listing (REST, WebDAV PROPFIND; the web page pages the same way) shows exactly what they may read, and the
// store is asked only for the rows of classifications they may read at most (AccessService.readableClassifications):
// before, every row of the folder was read and refused, 0.6 s of the server's CPU to list one document out of 50,000.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DocumentsRepo } from '../../src/db/repos/documents.repo.js';
import { cloneDocuments } from '../support/cloned-documents.js';
import { useClamd } from '../support/fixture.js';
import { sharedService } from '../support/shared-service.js';
import { DIALECTS, upload, type TestOrganisation, type TestUser } from '../support/vault.js';
import { dav, davUser, useDavServer, type DavUser } from '../webdav/support.js';

const clamd = useClamd();

/** More than two pages (500), one document in 200 OFFICIAL and the rest OFFICIAL-SENSITIVE. */
const CLONES = 1_200;
const nameOf = (i: number): string => `personnel-file-${String(i).padStart(5, '0')}.txt`;
const isOfficial = (i: number): boolean => i % 200 === 0;

describe.each(DIALECTS)('a folder listed by someone cleared for few of its documents, on %s', (dialect) => {
  const s = useDavServer(dialect, clamd);
  let host: TestOrganisation;
  let partner: TestOrganisation;
  /** The host's own finance folder and the partner's, each filled as above. */
  const folders: Record<'host' | 'partner', string> = { host: '', partner: '' };
  let official: string[];
  let everything: string[];
  let lowClearance: DavUser;
  let cleared: TestUser;
  beforeAll(async () => {
    ({ host, partner } = await sharedService(s.vault, 'finance'));
    lowClearance = await davUser(s.vault, host, { teams: ['finance'], clearance: 'OFFICIAL' });
    cleared = await host.user({ teams: ['finance'] });
    for (const [which, org] of [['host', host], ['partner', partner]] as const) {
      const uploader = await org.user({ teams: ['finance'] });
      folders[which] = org.collections.finance!;
      const template = await upload(s.app, uploader, folders[which], 'a-index.txt', 'index of personnel files');
      expect(template.statusCode, template.body).toBe(201);
      await cloneDocuments(s.vault.store.db, template.json().id, CLONES, nameOf, (i) => ({ classification: isOfficial(i) ? 'OFFICIAL' : 'OFFICIAL-SENSITIVE' }));
    }
    const names = Array.from({ length: CLONES }, (_, i) => i);
    official = ['a-index.txt', ...names.filter(isOfficial).map(nameOf)];
    everything = ['a-index.txt', ...names.map(nameOf)];
  }, 300_000);
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Rows the repository handed the listing, over every page. */
  function countRowsRead(): { readonly rows: number } {
    const real = DocumentsRepo.prototype.inCollection;
    const counted = { rows: 0 };
    vi.spyOn(DocumentsRepo.prototype, 'inCollection').mockImplementation(async function (this: DocumentsRepo, collectionId, options) {
      const rows = await real.call(this, collectionId, options);
      counted.rows += rows.length;
      return rows;
    });
    return counted;
  }

  const restListing = async (user: TestUser, folder: string): Promise<string[]> => {
    const res = await fetch(`${s.base}/api/v1/collections/${folder}`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { documents: { name: string }[] }).documents.map((d) => d.name);
  };

  it('lists over REST what a person cleared for OFFICIAL may read, reading no row above it', async () => {
    const read = countRowsRead();
    expect(await restListing(lowClearance, folders.host)).toEqual(official);
    expect(read.rows).toBe(official.length);
  });

  it('lists everything to a person cleared for the rest, as before', async () => {
    const read = countRowsRead();
    expect(await restListing(cleared, folders.host)).toEqual(everything);
    expect(read.rows).toBe(everything.length);
  });

  it('lists a partner\'s folder to the host\'s staff up to the arrangement\'s ceiling, reading no row above it', async () => {
    const read = countRowsRead();
    expect(await restListing(cleared, folders.partner)).toEqual(official);
    expect(read.rows).toBe(official.length);
  });

  it('answers a WebDAV PROPFIND the same way', async () => {
    const read = countRowsRead();
    const res = await dav(s.base, 'PROPFIND', `/dav/${host.slug}/finance/`, { user: lowClearance, headers: { depth: '1' } });
    expect(res.status).toBe(207);
    const hrefs = [...res.body.matchAll(/<D:href>([^<]+)<\/D:href>/g)].map((m) => decodeURIComponent(m[1]!.split('/').filter(Boolean).at(-1)!));
    expect(hrefs.slice(1)).toEqual(official);
    expect(read.rows).toBe(official.length);
  });
});
