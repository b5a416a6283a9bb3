// A document's web download is recorded in the person's name (the audit log's document.download). The session
// cookie is SameSite=Lax, so another site can send a signed-in browser to a download address: the file would
// land in the person's downloads and the log would say they downloaded it. A GET downloads at once only when
// the browser says it is its own (Sec-Fetch-Site same-origin) or the person's (none); anything else, no header
// included, gets a question page whose Download button is a form with the CSRF token.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestOrganisation, type TestVault } from '../support/vault.js';
import { launchBrowser, seriousViolations } from './browser.js';
import { FormClient, PASSWORD, addPerson } from './support.js';

const clamd = useClamd();

/** What each kind of browser says about a request another site sent, or nothing at all (undefined). */
const NOT_OURS = ['cross-site', 'same-site', undefined] as const;
const saying = (site: string | undefined): Record<string, string> => (site === undefined ? {} : { 'sec-fetch-site': site });

describe.each(DIALECTS)('a web download another site sends the browser to, on %s', (dialect) => {
  let t: TestVault;
  let base: string;
  let org: TestOrganisation;
  let documentId: string;
  let client: FormClient;
  let personId: string;
  let personEmail: string;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    org = await createOrganisation(t.vault);
    const hr = await org.user({ teams: ['hr'] });
    documentId = (await upload(t.app, hr, org.collections.hr!, 'personnel-file.txt', 'version one\n')).json().id;
    const form = new FormData();
    const person = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    personId = person.id;
    personEmail = person.email;
    client = new FormClient(base);
    await client.signIn(person.email);
    // A second version, uploaded through the page, so that "version 1" is an older one.
    form.append('_csrf', FormClient.csrf((await client.get(`/documents/${documentId}`)).text));
    form.append('file', new Blob(['version two\n']), 'personnel-file.txt');
    expect((await client.request('POST', `/documents/${documentId}/versions`, { body: form })).status).toBe(303);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The person's download events (allowed and refused) so far, oldest first. */
  const downloads = async () => (await t.vault.store.db.selectFrom('audit_events').select(['decision', 'document_id']).where('action', '=', 'document.download').where('actor_user_id', '=', personId).orderBy('id').execute())
    .map((e) => ({ decision: e.decision, document: e.document_id }));

  it('asks first, with no content and nothing recorded, when another site sent the browser or it says nothing (GET and HEAD, any version)', async () => {
    const before = await downloads();
    for (const site of NOT_OURS) {
      for (const [query, detail, field] of [['', null, null], ['?version=1', 'Version 1', '<input type="hidden" name="version" value="1">']] as const) {
        const url = `/documents/${documentId}/download${query}`;
        const asked = await client.request('GET', url, { headers: saying(site) });
        expect(asked.status, `${site} ${url}`).toBe(200);
        expect(asked.headers.get('content-type')).toBe('text/html; charset=utf-8');
        expect(asked.headers.get('content-disposition')).toBeNull();
        expect(asked.text).toContain('<h1 class="govuk-heading-l" id="download-name">Download personnel-file.txt?</h1>');
        expect(asked.text).toContain(`<form method="post" action="/documents/${documentId}/download" id="download-form" novalidate>`);
        expect(asked.text).toContain(`<input type="hidden" name="_csrf" value="${FormClient.csrf(asked.text)}">`);
        if (detail) expect(asked.text).toContain(`<p class="govuk-body" id="download-detail">${detail}</p>`);
        else expect(asked.text).not.toContain('id="download-detail"');
        if (field) expect(asked.text).toContain(field);
        else expect(asked.text).not.toContain('name="version"');
        expect(asked.text).not.toContain('version one');
        expect(asked.text).not.toContain('version two');
        const head = await client.request('HEAD', url, { headers: saying(site) });
        expect(head.status).toBe(200);
        expect(head.headers.get('content-type')).toBe('text/html; charset=utf-8');
      }
    }
    expect(await downloads()).toEqual(before);
  });

  it('downloads at once from a link on its own pages or an address typed in, recording one download each, where the same link from another site asks; a HEAD records none', async () => {
    const page = await client.get(`/documents/${documentId}`);
    // The page's links stay links: one click in a browser, which says same-origin.
    expect(page.text).toContain(`href="/documents/${documentId}/download"`);
    expect(page.text).toContain(`href="/documents/${documentId}/download?version=1"`);
    const before = (await downloads()).length;
    expect((await client.request('GET', `/documents/${documentId}/download`, { headers: { 'sec-fetch-site': 'cross-site' } })).text).toContain('id="download-form"');
    expect((await downloads()).length).toBe(before);
    const clicked = await client.click(`/documents/${documentId}/download`);
    expect(clicked.status).toBe(200);
    expect(clicked.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(clicked.text).toBe('version two\n');
    expect((await downloads()).slice(before)).toEqual([{ decision: 'allow', document: documentId }]);
    const typed = await client.request('GET', `/documents/${documentId}/download?version=1`, { headers: { 'sec-fetch-site': 'none' } });
    expect(typed.status).toBe(200);
    expect(typed.text).toBe('version one\n');
    expect((await downloads()).slice(before)).toEqual([{ decision: 'allow', document: documentId }, { decision: 'allow', document: documentId }]);
    for (const site of ['same-origin', 'none']) {
      const head = await client.request('HEAD', `/documents/${documentId}/download`, { headers: { 'sec-fetch-site': site } });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-disposition')).toMatch(/^attachment;/);
    }
    expect((await downloads()).length).toBe(before + 2);
  });

  it('downloads from the question page\'s form with its CSRF token, and refuses the form without it or with a wrong one', async () => {
    const asked = await client.request('GET', `/documents/${documentId}/download?version=1`, { headers: { 'sec-fetch-site': 'cross-site' } });
    const csrf = FormClient.csrf(asked.text);
    const before = (await downloads()).length;
    const forged: Record<string, string>[] = [{}, { _csrf: 'not-the-token' }, { version: '1' }, { _csrf: 'not-the-token', version: '1' }];
    for (const form of forged) {
      const refused = await client.post(`/documents/${documentId}/download`, form);
      expect(refused.status).toBe(403);
      expect(refused.text).toContain('This form has expired or did not come from this service. Go back, reload the page and try again.');
      expect(refused.text).not.toContain('version one');
    }
    expect((await downloads()).length).toBe(before);
    const older = await client.post(`/documents/${documentId}/download`, { _csrf: csrf, version: '1' });
    expect(older.status).toBe(200);
    expect(older.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(older.text).toBe('version one\n');
    const current = await client.post(`/documents/${documentId}/download`, { _csrf: csrf });
    expect(current.status).toBe(200);
    expect(current.text).toBe('version two\n');
    expect((await downloads()).slice(before)).toEqual([{ decision: 'allow', document: documentId }, { decision: 'allow', document: documentId }]);
  });

  it('names on its question page only what the person may download: another organisation\'s document answers as an unknown id, from another site as from its own, the refusal audited as a download\'s', async () => {
    const other = await createOrganisation(t.vault);
    const theirs = (await upload(t.app, await other.user({ teams: ['hr'] }), other.collections.hr!, 'their-file.txt', 'not yours\n')).json().id as string;
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const site of [...NOT_OURS, 'same-origin']) {
      const before = (await downloads()).length;
      const own = await client.request('GET', `/documents/${documentId}/download`, { headers: saying(site) });
      expect(own.status).toBe(200);
      if (site === 'same-origin') expect(own.text).toBe('version two\n');
      else expect(own.text).toContain('<h1 class="govuk-heading-l" id="download-name">Download personnel-file.txt?</h1>');
      const ownRecorded = site === 'same-origin' ? [{ decision: 'allow', document: documentId }] : [];
      expect((await downloads()).slice(before)).toEqual(ownRecorded);
      const missing = await client.request('GET', `/documents/${unknown}/download`, { headers: saying(site) });
      expect(missing.status).toBe(404);
      expect((await downloads()).slice(before)).toEqual(ownRecorded);
      const hidden = await client.request('GET', `/documents/${theirs}/download`, { headers: saying(site) });
      expect(hidden.status, String(site)).toBe(404);
      expect(hidden.text.replace(/[0-9a-f-]{36}|req-[\w-]+/g, '')).toBe(missing.text.replace(/[0-9a-f-]{36}|req-[\w-]+/g, ''));
      expect(hidden.text).not.toContain('their-file.txt');
      expect((await downloads()).slice(before)).toEqual([...ownRecorded, { decision: 'deny', document: theirs }]);
    }
  });

  // Signed out, another site's link to a download is sent to sign in with the download as where to go next;
  // the sign-in form's 303 to it is a redirect from this origin, which the browser calls same-origin, so it
  // would download at once and record it in the person's name. Where to go next is never a download: it is
  // the document's page (whatever spelling of the address the browser would route there).
  it('after signing in, a download as where to go next lands on the document\'s page instead, in every spelling', async () => {
    const download = `/documents/${documentId}/download`;
    const stranger = new FormClient(base);
    const sent = await stranger.request('GET', download, { headers: saying('cross-site') });
    expect(sent.status).toBe(303);
    expect(sent.location).toBe(`/sign-in?next=${encodeURIComponent(download)}`);
    const before = await downloads();
    const spellings = [download, `${download}?version=1`, `${download}#x`, `${download}/`, `/documents/${documentId}/./download`, `/documents/${documentId}/%2e/download`,
      `/documents/elsewhere/../${documentId}/download`, `/documents/${documentId}/%64ownload`, `/documents/${documentId}/DOWNLOAD`, `/documents/${documentId}%2Fdownload`];
    for (const next of spellings) {
      const person = new FormClient(base);
      const page = await person.get(`/sign-in?next=${encodeURIComponent(next)}`);
      expect(page.text, next).toContain(`<input type="hidden" name="next" value="/documents/${documentId}">`);
      const signedIn = await person.post('/sign-in', { _csrf: FormClient.csrf(page.text), email: personEmail, password: PASSWORD, next });
      expect(signedIn.status, next).toBe(303);
      expect(signedIn.location, next).toBe(`/documents/${documentId}`);
    }
    // Any other address on this site is still where the person goes; one that cannot be read is the home page.
    for (const [next, landing] of [[`/documents/${documentId}/history`, `/documents/${documentId}/history`], [`/documents/${documentId}/%zzdownload`, '/']]) {
      const person = new FormClient(base);
      const page = await person.get('/sign-in');
      const other = await person.post('/sign-in', { _csrf: FormClient.csrf(page.text), email: personEmail, password: PASSWORD, next: next! });
      expect(other.location, next).toBe(landing);
    }
    expect(await downloads()).toEqual(before);
  });

  // In Chromium, which sends Sec-Fetch-Site: a link on another site (localhost is another site than
  // 127.0.0.1) lands on the question page, and its button downloads; the document page's own link downloads
  // at once, one click.
  it('in a browser: another site\'s link signed out leads to the document\'s page after signing in, signed in asks, the question page\'s button downloads, and the document page\'s link downloads at once', { timeout: 60_000 }, async () => {
    const ours = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const elsewhere = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(`<!doctype html><title>Elsewhere</title><a id="forged" href="${ours}/documents/${documentId}/download">Pay rise</a>`);
    });
    await new Promise<void>((done) => elsewhere.listen(0, '127.0.0.1', done));
    const chrome = await launchBrowser();
    try {
      const page = await chrome.context.newPage();
      const before = (await downloads()).length;
      // Signed out, the link goes by the sign-in page, whose form's redirect the browser calls same-origin:
      // it lands on the document's page, with nothing downloaded.
      await page.goto(`http://localhost:${(elsewhere.address() as AddressInfo).port}/`);
      await page.click('#forged');
      await page.waitForURL((url) => url.pathname === '/sign-in');
      await page.fill('#email', personEmail);
      await page.fill('#password', PASSWORD);
      await page.click('#sign-in');
      await page.waitForURL((url) => url.pathname === `/documents/${documentId}`);
      expect((await downloads()).length).toBe(before);

      await page.goto(`http://localhost:${(elsewhere.address() as AddressInfo).port}/`);
      await page.click('#forged');
      await page.waitForSelector('#download-name');
      expect(await page.textContent('#download-name')).toBe('Download personnel-file.txt?');
      expect(await seriousViolations(page)).toEqual([]);
      expect((await downloads()).length).toBe(before);

      const [asked] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
      expect(await readFile((await asked.path())!, 'utf8')).toBe('version two\n');
      expect((await downloads()).length).toBe(before + 1);

      await page.goto(`${ours}/documents/${documentId}`);
      const [clicked] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
      expect(clicked.suggestedFilename()).toBe('personnel-file.txt');
      expect(await readFile((await clicked.path())!, 'utf8')).toBe('version two\n');
      expect((await downloads()).length).toBe(before + 2);
    } finally {
      await chrome.close();
      await new Promise((done) => elsewhere.close(done));
    }
  });
});
