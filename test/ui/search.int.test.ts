// Search in the web interface, against the real SearchService, index and extractor on both dialects:
// a member types a word into the header search box in Chromium and finds the document by its text
// (snippet marked) once the extraction job ran; filters narrow and keep the query; page 2 works; a
// partner's serving team finds only what the arrangement opens (and nothing once it is suspended);
// bad queries are a 400 page with the reason; document text and names are escaped everywhere.
import { randomBytes } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { pdf } from '../support/samples.js';
import { DIALECTS, createPartnership, openTestVault, upload, type TestOrganisation, type TestUser, type TestVault } from '../support/vault.js';
import { launchBrowser, screenshot, seriousViolations, type TestBrowser } from './browser.js';
import { FormClient, PASSWORD, addPerson } from './support.js';

let clamd: TestClamd;
let chrome: TestBrowser;
beforeAll(async () => {
  clamd = await startTestClamd();
  chrome = await launchBrowser();
});
afterAll(async () => {
  await chrome?.close();
  await clamd?.stop();
});

/** A word no other test (or document) contains: letters only, so every tokenizer keeps it whole. */
const uniqueWord = (stem: string): string => stem + [...randomBytes(6)].map((b) => String.fromCharCode(97 + (b % 26))).join('');

/** The names of the results on a results page, in order. */
function resultNames(html: string): string[] {
  return [...html.matchAll(/<h3 class="govuk-heading-s sr-result__title"><a class="govuk-link" href="\/documents\/[^"]+">([^<]*)<\/a><\/h3>/g)].map((m) => m[1]!);
}

const resultCount = (html: string): string | null => /<h2 class="govuk-heading-m" id="result-count">([^<]*)<\/h2>/.exec(html)?.[1] ?? null;

describe.each(DIALECTS)('search pages on %s', (dialect) => {
  let t: TestVault;
  let base: string;
  let host: TestOrganisation;
  let partner: TestOrganisation;
  let arrangementId: string;
  let hostUploader: TestUser;
  let partnerUploader: TestUser;
  const contexts: BrowserContext[] = [];
  const canary = uniqueWord('quokka');
  const common = uniqueWord('ledger');
  const pdfWord = uniqueWord('heron');
  const ids: Record<string, string> = {};

  async function put(user: TestUser, collectionId: string, name: string, text: string): Promise<string> {
    const created = await upload(t.app, user, collectionId, name, text);
    expect(created.statusCode).toBe(201);
    return created.json().id as string;
  }

  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    // The host's payroll team serves the partner's payroll (read), up to OFFICIAL-SENSITIVE.
    const partnership = await createPartnership(t.vault, { accessLevel: 'read', ceiling: 'OFFICIAL-SENSITIVE', serviceArea: 'payroll' });
    ({ host, partner } = partnership);
    arrangementId = partnership.arrangement.id;
    hostUploader = await host.user({ teams: ['payroll', 'finance', 'hr'] });
    partnerUploader = await partner.user({ teams: ['payroll', 'hr'] });

    ids.partnerPayroll = await put(partnerUploader, partner.collections.payroll!, "Tom & Jerry's payslip.txt",
      `Payslip for October.\nReference ${canary} for the pay run.\nA note that looks like markup: <img src=x onerror=alert(1)> & <b>bold</b>\n`);
    ids.partnerHr = await put(partnerUploader, partner.collections.hr!, 'Grievance notes.txt', `Private HR notes mentioning ${canary} as well.\n`);
    ids.hostPayroll = await put(hostUploader, host.collections.payroll!, 'Host payroll memo.txt', `The host's own memo: ${canary} appears here too.\n`);
    const letter = await upload(t.app, hostUploader, host.collections.payroll!, 'Planning letter.pdf', pdf(`Planning letter about ${pdfWord} meadow`));
    expect(letter.statusCode).toBe(201);
    ids.letter = letter.json().id as string;
    // 23 host documents sharing one word, spread over two collections: two pages of results.
    for (let i = 1; i <= 23; i += 1) {
      const collection = i <= 15 ? host.collections.finance! : host.collections.payroll!;
      await put(hostUploader, collection, `Invoice ${String(i).padStart(2, '0')}.txt`, `Invoice number ${i} in the ${common} for this year.\n`);
    }
    // Extraction runs as a job once each version is clean: run everything that is due.
    while ((await t.vault.worker.runDue()) > 0) { /* drain */ }
  }, 300_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await t?.close();
  });

  async function newPage(): Promise<Page> {
    const context = await chrome.browser.newContext({ baseURL: base });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    return page;
  }

  async function client(user: { email: string }): Promise<FormClient> {
    const c = new FormClient(base);
    await c.signIn(user.email);
    return c;
  }

  it('a member finds a document by a word in its text from the header search box', async () => {
    const member = await addPerson(t.vault, partner.slug, { teams: ['payroll'], name: 'Paula Payroll' });
    const page = await newPage();
    await page.goto('/sign-in');
    await page.fill('#email', member.email);
    await page.fill('#password', PASSWORD);
    await page.click('#sign-in');
    await page.waitForSelector('#header-search');
    // The box is labelled for screen readers, and its button says what it does.
    expect(await page.locator('label[for="header-search"]').textContent()).toBe('Search documents');
    expect((await page.locator('#header-search-button').textContent())?.trim()).toBe('Search');
    await page.fill('#header-search', canary);
    await page.click('#header-search-button');
    await page.waitForSelector('#result-count');
    expect(new URL(page.url()).pathname).toBe('/search');
    expect(new URL(page.url()).searchParams.get('q')).toBe(canary);
    expect(await page.textContent('#result-count')).toBe(`1 result for ‘${canary}’`);
    expect(await page.locator('#results .sr-result__title a').allTextContents()).toEqual(["Tom & Jerry's payslip.txt"]);
    expect(await page.locator('#results .sr-result__title a').getAttribute('href')).toBe(`/documents/${ids.partnerPayroll}`);
    expect(await page.locator('#results mark').allTextContents()).toEqual([canary]);
    const meta = (await page.locator('#results .sr-result__meta').textContent())!.replace(/\s+/g, ' ').trim();
    expect(meta).toMatch(new RegExp(`^Test ${partner.slug} · payroll · Text · Last changed \\d{1,2} \\w+ \\d{4}$`));
    // The header box keeps what was searched for, and so does the page's own box.
    expect(await page.inputValue('#header-search')).toBe(canary);
    expect(await page.inputValue('#q')).toBe(canary);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, `${dialect}-search-results`);

    // From the result to the document: its text was read.
    await page.click('#results .sr-result__title a');
    await page.waitForSelector('#document-name');
    const textRow = page.locator('.govuk-summary-list__row', { has: page.locator('dt', { hasText: /^\s*Text\s*$/ }) });
    expect((await textRow.locator('dd').textContent())?.trim()).toBe('Extracted');
    expect(await page.locator('#document-thumbnail').count()).toBe(0);
  });

  it('escapes HTML in document text and names in the results', async () => {
    const member = await addPerson(t.vault, partner.slug, { teams: ['payroll'] });
    const c = await client(member);
    const res = await c.get(`/search?q=${canary}`);
    expect(res.status).toBe(200);
    expect(resultNames(res.text)).toEqual(['Tom &amp; Jerry&#39;s payslip.txt']);
    const snippet = /<p class="govuk-body sr-result__snippet">([\s\S]*?)<\/p>/.exec(res.text)?.[1] ?? '';
    expect(snippet).toContain(`<mark>${canary}</mark>`);
    // The only markup in the snippet is ours.
    expect(snippet.replaceAll(`<mark>${canary}</mark>`, '')).not.toMatch(/<(?!\/?mark>)/);
    expect(res.text).not.toContain('<img src=x');
    expect(res.text).not.toContain('<b>bold</b>');
    // Markup searched for is shown back as text.
    const hostile = await c.get(`/search?q=${encodeURIComponent('<script>alert(1)</script>')}`);
    expect(hostile.text).not.toContain('<script>alert(1)</script>');
    expect(hostile.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('a partner finds only what the arrangement opens, until it is suspended', async () => {
    const serving = await addPerson(t.vault, host.slug, { teams: ['payroll'] });
    const partnerMember = await addPerson(t.vault, partner.slug, { teams: ['hr'] });
    const hostFinance = await addPerson(t.vault, host.slug, { teams: ['finance'] });
    const names = async (c: FormClient) => resultNames((await c.get(`/search?q=${canary}&sort=date`)).text).sort();

    const servingClient = await client(serving);
    expect(await names(servingClient)).toEqual(['Host payroll memo.txt', 'Tom &amp; Jerry&#39;s payslip.txt']);
    expect(await names(await client(partnerMember))).toEqual(['Grievance notes.txt']);
    const none = await (await client(hostFinance)).get(`/search?q=${canary}`);
    expect(resultCount(none.text)).toBe(`0 results for ‘${canary}’`);
    expect(none.text).toContain('No documents you can open match your search.');
    // The organisation filter offers only what the person may read, with its count.
    const page = (await servingClient.get(`/search?q=${canary}`)).text;
    expect(page).toContain(`<option value="${partner.id}">Test ${partner.slug} (1)</option>`);
    expect(page).not.toContain(partner.collections.hr!);

    await t.vault.arrangements.suspend(systemActor(), arrangementId);
    expect(await names(servingClient)).toEqual(['Host payroll memo.txt']);
  });

  it('filters narrow the results and keep the query; page 2 keeps both', async () => {
    const member = await addPerson(t.vault, host.slug, { teams: ['payroll', 'finance'] });
    const c = await client(member);
    const all = await c.get(`/search?q=${common}`);
    expect(resultCount(all.text)).toBe(`23 results for ‘${common}’`);
    expect(resultNames(all.text)).toHaveLength(20);
    expect(all.text).toContain(`<option value="${host.collections.finance}">finance (15)</option>`);
    expect(all.text).toContain(`<option value="${host.collections.payroll}">payroll (8)</option>`);

    // In Chromium: choose the collection and apply; the query stays, the count narrows.
    const page = await newPage();
    await page.goto('/sign-in');
    await page.fill('#email', member.email);
    await page.fill('#password', PASSWORD);
    await page.click('#sign-in');
    await page.waitForSelector('#header-search');
    await page.goto(`/search?q=${common}`);
    await page.selectOption('#collection', host.collections.payroll!);
    await page.click('#apply-filters');
    await page.waitForSelector('#result-count');
    expect(await page.textContent('#result-count')).toBe(`8 results for ‘${common}’`);
    expect(new URL(page.url()).searchParams.get('q')).toBe(common);
    expect(new URL(page.url()).searchParams.get('collection')).toBe(host.collections.payroll);
    expect(await page.inputValue('#q')).toBe(common);
    expect(await page.locator('#collection option:checked').textContent()).toBe('payroll (8)');
    expect(await page.locator('.govuk-pagination').count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, `${dialect}-search-filtered`);

    // Unfiltered, sorted by date: page 2 has the last three, and its links keep query and sort.
    await page.goto(`/search?q=${common}&sort=date`);
    expect(await page.locator('#results li').count()).toBe(20);
    await page.click('.govuk-pagination__next a');
    await page.waitForSelector('#result-range');
    expect(new URL(page.url()).search).toBe(`?q=${common}&sort=date&page=2`);
    expect(await page.textContent('#result-range')).toBe('Showing 21 to 23 of 23');
    expect(await page.locator('#results li').count()).toBe(3);
    // Sorted newest first, so page 2 holds the first three uploaded.
    expect((await page.locator('#results .sr-result__title a').allTextContents()).sort()).toEqual(['Invoice 01.txt', 'Invoice 02.txt', 'Invoice 03.txt']);
    expect(await page.locator('.govuk-pagination__prev a').getAttribute('href')).toBe(`/search?q=${common}&sort=date`);
    expect(await page.locator('.govuk-pagination__item--current a').textContent()).toMatch(/^\s*2\s*$/);
  });

  it('a bad query or filter is a 400 page that says what is wrong', async () => {
    const member = await addPerson(t.vault, host.slug, { teams: ['payroll'] });
    const c = await client(member);
    const cases: [string, string][] = [
      [`/search?q=${'a'.repeat(10_000)}`, 'Your search is too long: use at most 500 characters.'],
      ['/search?q=-draft', 'Say what to look for, not only what to leave out (words after a minus sign are left out).'],
      [`/search?q=${common}&page=0`, 'The page number must be a whole number, 1 or more'],
      [`/search?q=${common}&sort=name`, 'Sort by relevance or by date'],
    ];
    for (const [url, message] of cases) {
      const res = await c.get(url);
      expect(res.status, url.slice(0, 60)).toBe(400);
      expect(res.text).toContain('<title>Error: Search documents – Strongroom</title>');
      expect(res.text).toMatch(/class="govuk-error-summary"/);
      expect(res.text).toContain(`<a href="#q">${message.replaceAll("'", '&#39;')}</a>`);
      // The search box is still there to try again.
      expect(res.text).toContain('id="q"');
    }
    // Hostile strings (FTS5 and SQL syntax, quotes, NUL): words are searched as words, and what has
    // no word in it is a 400 that says so; never a 500.
    for (const q of ['NEAR(a b)', 'a AND OR NOT', "'; DROP TABLE documents; --"]) {
      const res = await c.get(`/search?q=${encodeURIComponent(q)}`);
      expect(res.status, JSON.stringify(q)).toBe(200);
      expect(resultCount(res.text), JSON.stringify(q)).toMatch(/^0 results for ‘/);
    }
    for (const q of ['"', '***', '\u0000', '{}[]():^~', 'OR OR OR']) {
      const res = await c.get(`/search?q=${encodeURIComponent(q)}`);
      expect(res.status, JSON.stringify(q)).toBe(400);
      expect(res.text).toContain('<a href="#q">Type a word to search for.</a>');
    }
    // Signed out: to sign in, and back here afterwards.
    const anonymous = await new FormClient(base).get(`/search?q=${common}`);
    expect(anonymous.status).toBe(303);
    expect(anonymous.location).toBe(`/sign-in?next=${encodeURIComponent(`/search?q=${common}`)}`);
  });

  it('shows a PDF hit with its page and first-page thumbnail, here and on the document page', async () => {
    const member = await addPerson(t.vault, host.slug, { teams: ['payroll'] });
    const page = await newPage();
    await page.goto('/sign-in');
    await page.fill('#email', member.email);
    await page.fill('#password', PASSWORD);
    await page.click('#sign-in');
    await page.waitForSelector('#header-search');
    await page.fill('#header-search', pdfWord);
    await page.press('#header-search', 'Enter');
    await page.waitForSelector('#result-count');
    expect(await page.textContent('#result-count')).toBe(`1 result for ‘${pdfWord}’`);
    expect(await page.locator('#results .sr-result__page').textContent()).toBe('Page 1');
    expect(await page.locator('#results mark').allTextContents()).toEqual([pdfWord]);
    const thumbnail = page.locator('#results img.sr-result__thumbnail');
    expect(await thumbnail.getAttribute('alt')).toBe('First page of Planning letter.pdf');
    expect(await thumbnail.getAttribute('src')).toBe(`/documents/${ids.letter}/thumbnail`);
    await expect.poll(() => thumbnail.evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
    await screenshot(page, `${dialect}-search-pdf`);

    await page.click('#results .sr-result__title a');
    await page.waitForSelector('#document-name');
    expect(await page.locator('#document-thumbnail').getAttribute('alt')).toBe('First page of Planning letter.pdf');
    await expect.poll(() => page.locator('#document-thumbnail').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
    expect(await seriousViolations(page)).toEqual([]);

    const image = await fetch(new URL(`/documents/${ids.letter}/thumbnail`, base), { headers: { cookie: (await page.context().cookies()).map((k) => `${k.name}=${k.value}`).join('; ') } });
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(image.headers.get('cache-control')).toBe('private, no-store');
    expect(image.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(Buffer.from(await image.arrayBuffer()).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  });

  it('serves a thumbnail only to whoever may download the document', async () => {
    const member = await addPerson(t.vault, host.slug, { teams: ['payroll'] });
    const c = await client(member);
    const otherTeam = await client(await addPerson(t.vault, host.slug, { teams: ['finance'] }));
    expect((await otherTeam.get(`/documents/${ids.letter}/thumbnail`)).status).toBe(404);
    expect((await otherTeam.get(`/documents/${ids.letter}/thumbnail`)).text).not.toContain('Planning letter');
    // A text file has no thumbnail; another team's document is absent, as if it did not exist.
    expect((await c.get(`/documents/${ids.hostPayroll}/thumbnail`)).status).toBe(404);
    expect((await c.get(`/documents/${ids.partnerHr}/thumbnail`)).status).toBe(404);
  });
});
