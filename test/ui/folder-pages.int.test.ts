// A folder's page in the web interface shows a large folder a screen at a time: 500 documents the person may
// read, in name order, and a link to the next screen that continues after the last name shown. Until 6 December
// the page listed the first 10,000 documents and said nothing of the rest. Documents the person may not read
// (above their clearance) are neither shown nor named, in the page or in its links, and never make a screen short.
import { beforeAll, describe, expect, it } from 'vitest';
import { FOLDER_SCREEN } from '../../src/http/ui/browse.routes.js';
import { cloneDocuments } from '../support/cloned-documents.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';
import { FormClient } from './support.js';

const clamd = useClamd();
const DOCUMENTS = 1200;
/** Every third document is OFFICIAL-SENSITIVE, above the reader's clearance: 400 hidden, 800 shown. */
const hidden = (i: number) => i % 3 === 2;
const nameOf = (i: number) => `doc-${String(i).padStart(5, '0')}.txt`;

describe.each(DIALECTS)('a large folder\'s page on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let reader: FormClient;
  let folder: string;
  beforeAll(async () => {
    const address = t.app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const org = await createOrganisation(t.vault);
    folder = org.collections.finance!;
    const staff = await org.user({ teams: ['finance'] });
    const template = (await upload(t.app, staff, folder, nameOf(0), 'a finance paper\n')).json().id as string;
    await cloneDocuments(t.vault.store.db, template, DOCUMENTS - 1, (i) => nameOf(i + 1));
    const secret = Array.from({ length: DOCUMENTS }, (_, i) => i).filter(hidden).map(nameOf);
    for (let at = 0; at < secret.length; at += 200) {
      await t.vault.store.db.updateTable('documents').set({ classification: 'OFFICIAL-SENSITIVE' }).where('collection_id', '=', folder).where('name', 'in', secret.slice(at, at + 200)).execute();
    }
    const person = await org.user({ teams: ['finance'], clearance: 'OFFICIAL' });
    reader = new FormClient(base);
    await reader.signIn(person.email);
  }, 300_000);

  const listed = (html: string) => [...html.matchAll(/<a class="govuk-link" href="\/documents\/[^"]+">([^<]+)<\/a>/g)].map((m) => m[1]!);
  const nextLink = (html: string) => /id="next-documents" href="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&') ?? null;

  it(`shows ${FOLDER_SCREEN} readable documents a screen, continues after the last one shown, and names none it hides`, async () => {
    const shownNames = Array.from({ length: DOCUMENTS }, (_, i) => i).filter((i) => !hidden(i)).map(nameOf);
    expect(shownNames).toHaveLength(800);

    const first = await reader.get(`/collections/${folder}`);
    expect(first.status).toBe(200);
    expect(listed(first.text)).toEqual(shownNames.slice(0, FOLDER_SCREEN));
    const next = nextLink(first.text);
    expect(next).toBe(`/collections/${folder}?after=${encodeURIComponent(shownNames[FOLDER_SCREEN - 1]!)}`);
    expect(first.text).not.toContain('Back to the first page');

    const second = await reader.get(next!);
    expect(second.status).toBe(200);
    expect(listed(second.text)).toEqual(shownNames.slice(FOLDER_SCREEN));
    expect(nextLink(second.text)).toBeNull();
    expect(second.text).toContain(`href="/collections/${folder}" rel="prev"`);

    for (const page of [first.text, second.text]) {
      for (const i of [2, 5, 599, 1199]) expect(page).not.toContain(nameOf(i));
    }
  });

  it('answers a screen asked for after a name that is not there from where that name would sort', async () => {
    const page = await reader.get(`/collections/${folder}?after=${encodeURIComponent('doc-01000.txt!')}`);
    expect(page.status).toBe(200);
    expect(listed(page.text)).toEqual(Array.from({ length: DOCUMENTS }, (_, i) => i).filter((i) => i > 1000 && !hidden(i)).map(nameOf));
    expect(listed(page.text)[0]).toBe('doc-01002.txt');
  });
});
