// Subject access requests in the web interface, through real requests on both dialects: a DPO opens a request
// and asks the council it shares payroll with; that council's DPO finds it in the register, searches (seeing
// only its own records), includes one and marks its search done; the requester downloads the response package
// by a CSRF-checked POST only. Staff who are not DPOs get 404 on every page and no navigation link; a partner's
// DPO gets 404 once the arrangement is suspended; what a DPO types is escaped everywhere it is shown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daysLeft } from '../../src/domain/records/subject-access.js';
import { ukDate } from '../../src/domain/records/retention.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, createPartnership, upload } from '../support/vault.js';
import { unzip } from '../support/zip.js';
import { launchBrowser, seriousViolations, type TestBrowser } from './browser.js';
import { FormClient, PASSWORD, addPerson } from './support.js';

const clamd = useClamd();
let chrome: TestBrowser;
beforeAll(async () => {
  chrome = await launchBrowser();
});
afterAll(async () => {
  await chrome?.close();
});
const HOSTILE = `<script>alert(1)</script>&"'`;
// A reference may not share a word with the person's name (it goes into e-mail): hostile in other words.
const HOSTILE_REFERENCE = `<b title=x>ref&"'`;
const REFERENCE_ESCAPED = '&lt;b title=x&gt;ref&amp;&quot;&#39;';
const ESCAPED = '&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;';
const word = (stem: string): string => stem + Math.random().toString(36).replace(/[^a-z]/g, '').slice(0, 8);

describe.each(DIALECTS)('subject access request pages on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let base: string;
  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  /** A POST whose answer is read as bytes (a zip), with the client's cookies. */
  async function postBytes(client: FormClient, url: string, form: Record<string, string>) {
    const response = await fetch(new URL(url, base), {
      method: 'POST', redirect: 'manual', body: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
  }

  async function signedIn(user: { email: string }): Promise<{ client: FormClient; home: string }> {
    const client = new FormClient(base);
    return { client, home: await client.signIn(user.email) };
  }

  async function world() {
    // The host runs payroll for the partner: the partner's DPO receives the request and asks the host.
    const { host, partner, arrangement } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const dpo = await addPerson(t.vault, partner.slug, { roles: ['dpo'], teams: ['payroll'], name: 'Dee Partner' });
    const hostDpo = await addPerson(t.vault, host.slug, { roles: ['dpo'], teams: ['payroll'], name: 'Hal Host' });
    const member = await addPerson(t.vault, partner.slug, { teams: ['payroll'] });
    const shared = word('smithers');
    const partnerStaff = await partner.user({ teams: ['payroll'] });
    const hostStaff = await host.user({ teams: ['payroll'] });
    const own = (await upload(t.app, partnerStaff, partner.collections.payroll!, 'payslip-march.txt', `Payslip for ${shared}, March\n`)).json().id as string;
    const held = (await upload(t.app, hostStaff, host.collections.payroll!, 'overtime-claims.txt', `Overtime claims, ${shared}\n`)).json().id as string;
    // Extraction (for search) runs as a job once each version is clean.
    while ((await t.vault.worker.runDue()) > 0) { /* drain */ }
    return { host, partner, arrangement, dpo, hostDpo, member, shared, own, held };
  }

  async function open(client: FormClient, form: Record<string, string>): Promise<string> {
    const page = await client.get('/subject-access/new');
    expect(page.status).toBe(200);
    const opened = await client.post('/subject-access', { _csrf: FormClient.csrf(page.text), ...form });
    expect(opened.status, opened.text.slice(0, 600)).toBe(303);
    expect(opened.location).toMatch(/^\/subject-access\/[0-9a-f-]{36}\?done=opened$/);
    return opened.location!.split('?')[0]!;
  }

  it('opens a request with a partner; the partner finds it, includes its own record and finishes; the requester takes the package by POST', async () => {
    const w = await world();
    const today = ukDate(new Date());
    const { client: dpo, home } = await signedIn(w.dpo);
    expect(home).toContain('href="/subject-access"');
    const register = await dpo.get('/subject-access');
    expect(register.status).toBe(200);
    expect(register.text).toContain('No requests have been opened.');
    expect(register.text).toContain('href="/subject-access/new"');

    // The form offers the partner it shares an arrangement with; a missing name is the service's message, nothing opened.
    const form = await dpo.get('/subject-access/new');
    expect(form.text).toContain(`value="${w.host.id}"`);
    expect(form.text).toContain(`value="${today}"`);
    const noName = await dpo.post('/subject-access', { _csrf: FormClient.csrf(form.text), subjectName: ' ', receivedOn: today, reference: 'X-1' });
    expect(noName.status).toBe(400);
    expect(noName.text).toContain('govuk-error-summary');
    expect(noName.text).toContain('<a href="#subjectName">Give the name of the person the request is about.</a>');
    expect(noName.text).toContain('value="X-1"');
    expect((await dpo.get('/subject-access')).text).toContain('No requests have been opened.');

    const reference = `SAR-${word('r')}`;
    const url = await open(dpo, { reference, subjectName: w.shared, subjectDetails: 'Payroll number 4411', receivedOn: today, partners: w.host.id });
    const page = await dpo.get(url);
    expect(page.status).toBe(200);
    expect((await dpo.get(`${url}?done=opened`)).text).toContain('The request was opened.');
    expect(page.text).toContain(`Test ${w.host.slug}`);
    expect(page.text).toContain('Payroll number 4411');
    expect(page.text).toContain(`action="${url}/package"`);
    expect(page.text).toContain(`action="${url}/close"`);
    expect(page.text).toContain(`action="${url}/extend"`);
    const dueOn = /<dt class="govuk-summary-list__key">\s*Due\s*<\/dt>\s*<dd class="govuk-summary-list__value">\s*(\d{4}-\d{2}-\d{2})/.exec(page.text)?.[1];
    expect(dueOn).toBeDefined();
    expect(page.text).toContain(`(due in ${daysLeft(dueOn!, today)} days)`);

    // The partner's DPO finds it in the register, not done yet, with who asked.
    const { client: hostDpo, home: hostHome } = await signedIn(w.hostDpo);
    expect(hostHome).toContain('href="/subject-access"');
    const asked = await hostDpo.get('/subject-access');
    expect(asked.status).toBe(200);
    expect(asked.text).toContain(`href="${url}">${reference}</a>`);
    expect(asked.text).toContain(`Test ${w.partner.slug}`);
    expect(asked.text).toContain('Not done');

    // Its page offers a search for the person's name (run only when sent), and shows its own records only (the
    // host's DPO may read the partner's payslip through the arrangement, but it is not theirs to include).
    const unsearched = await hostDpo.get(url);
    expect(unsearched.status).toBe(200);
    expect(unsearched.text).toContain(`id="q" name="q" type="text" value="${w.shared}"`);
    expect(unsearched.text).not.toContain(`value="${w.held}"`);
    const hostPage = await hostDpo.get(`${url}?q=${encodeURIComponent(w.shared)}`);
    expect(hostPage.status).toBe(200);
    expect(hostPage.text).toContain(`value="${w.shared}"`);
    expect(hostPage.text).toContain(`value="${w.held}"`);
    expect(hostPage.text).toContain('overtime-claims.txt');
    expect(hostPage.text).not.toContain('payslip-march.txt');
    expect(hostPage.text).not.toContain(`action="${url}/package"`);
    expect(hostPage.text).not.toContain(`action="${url}/close"`);
    const searched = await hostDpo.get(`${url}?q=overtime`);
    expect(searched.status).toBe(200);
    expect(searched.text).toContain(`value="${w.held}"`);

    const csrf = FormClient.csrf(hostPage.text);
    // Another organisation's record is not there to include (the service refuses it as absent).
    expect((await hostDpo.post(`${url}/items`, { _csrf: csrf, documentIds: w.own })).status).toBe(404);
    const none = await hostDpo.post(`${url}/items`, { _csrf: csrf });
    expect(none.status).toBe(400);
    expect(none.text).toContain('<a href="#documentIds">Choose at least one document to include.</a>');
    const added = await hostDpo.post(`${url}/items`, { _csrf: csrf, documentIds: w.held, q: w.shared });
    expect(added.status, added.text.slice(0, 600)).toBe(303);
    expect(added.location).toBe(`${url}?done=added&q=${encodeURIComponent(w.shared)}`);
    const withItem = await hostDpo.get(added.location!);
    expect(withItem.text).toMatch(/<a class="govuk-link" href="\/documents\/[0-9a-f-]{36}">overtime-claims.txt<\/a>/);
    expect(withItem.text).toContain(`action="${url}/remove"`);
    expect(withItem.text).toContain('Already included');
    // Taken out and put back: the removal is the viewer's own organisation's item only.
    const itemId = /name="itemId" value="([0-9a-f-]{36})"/.exec(withItem.text)![1]!;
    const removed = await hostDpo.post(`${url}/remove`, { _csrf: csrf, itemId });
    expect(removed.location).toBe(`${url}?done=removed`);
    expect((await hostDpo.get(url)).text).toContain('No records have been included yet.');
    expect((await hostDpo.post(`${url}/remove`, { _csrf: csrf, itemId })).status).toBe(404);
    expect((await hostDpo.post(`${url}/items`, { _csrf: csrf, documentIds: w.held })).status).toBe(303);
    const done = await hostDpo.post(`${url}/searched`, { _csrf: csrf, searched: 'true' });
    expect(done.status).toBe(303);
    expect((await hostDpo.get(done.location!)).text).toContain('Reopen our search');
    expect((await hostDpo.get('/subject-access')).text).toMatch(/govuk-tag--green">\s*Done\s*<\/strong>/);

    // The requester sees both parts; cannot remove the partner's record; downloads the package by POST only.
    const full = await dpo.get(url);
    expect(full.text).toContain('overtime-claims.txt');
    expect(full.text).not.toContain(`action="${url}/remove"`);
    const pack = await postBytes(dpo, `${url}/package`, { _csrf: FormClient.csrf(full.text) });
    expect(pack.status).toBe(200);
    expect(pack.headers.get('content-type')).toBe('application/zip');
    expect(pack.headers.get('content-disposition')).toBe(`attachment; filename="subject-access-${reference}.zip"`);
    const files = await unzip(pack.bytes);
    const index = JSON.parse(files.get('index.json')!.toString('utf8'));
    expect(index).toMatchObject({ reference, subject: w.shared });
    expect(index.records.map((r: { document: string; withheld: string | null }) => [r.document, r.withheld])).toEqual([['overtime-claims.txt', null]]);
    expect(files.get(index.records[0].file)!.toString('utf8')).toBe(`Overtime claims, ${w.shared}\n`);
    expect((await dpo.get(`${url}/package`)).status).toBe(404);
    const forged = await postBytes(dpo, `${url}/package`, {});
    expect(forged.status).toBe(403);
    expect(forged.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect((await postBytes(dpo, `${url}/package`, { _csrf: 'not-the-token' })).status).toBe(403);
    // The partner's DPO does not take the package.
    expect((await postBytes(hostDpo, `${url}/package`, { _csrf: csrf })).status).toBe(404);

    // Extend once (a short reason refused with the service's message), then close; a closed request takes no more records (409 on the page).
    const dcsrf = FormClient.csrf(full.text);
    const short = await dpo.post(`${url}/extend`, { _csrf: dcsrf, reason: 'busy' });
    expect(short.status).toBe(400);
    expect(short.text).toContain('Give the reason for the extension, as you will tell the person (at least 10 characters).');
    expect((await dpo.post(`${url}/extend`, { _csrf: dcsrf, reason: 'Records held by two councils' })).status).toBe(303);
    const extended = await dpo.get(url);
    expect(extended.text).toContain('Records held by two councils');
    expect(extended.text).not.toContain(`action="${url}/extend"`);
    const again = await dpo.post(`${url}/extend`, { _csrf: dcsrf, reason: 'Once more, for luck please' });
    expect(again.status).toBe(409);
    expect(again.text).toContain('This request was already extended');
    const noNote = await dpo.post(`${url}/close`, { _csrf: dcsrf, outcome: 'withdrawn' });
    expect(noNote.status).toBe(400);
    expect(noNote.text).toContain('<a href="#note">Say why the request was withdrawn (at least 10 characters).</a>');
    expect((await dpo.post(`${url}/close`, { _csrf: dcsrf, outcome: 'disclosed' })).status).toBe(303);
    const closed = await dpo.get(url);
    expect(closed.text).toContain('Disclosed');
    expect(closed.text).not.toContain(`action="${url}/close"`);
    const late = await hostDpo.post(`${url}/items`, { _csrf: csrf, documentIds: w.held });
    expect(late.status).toBe(409);
    expect(late.text).toContain('govuk-error-summary');
    expect(late.text).toContain('This request is closed; nothing more can be included.');
  });

  it('gives staff who are not DPOs no link and 404 on every page, and a partner’s DPO 404 once the arrangement is suspended', async () => {
    const w = await world();
    const { client: dpo } = await signedIn(w.dpo);
    // Opened without partners, then the partner asked from the request's page (none chosen: the service's message).
    const url = await open(dpo, { subjectName: 'Sam Smith', receivedOn: ukDate(new Date()) });
    const opened = await dpo.get(url);
    expect(opened.text).toContain(`action="${url}/partners"`);
    expect(opened.text).toContain(`value="${w.host.id}"`);
    const noneAsked = await dpo.post(`${url}/partners`, { _csrf: FormClient.csrf(opened.text) });
    expect(noneAsked.status).toBe(400);
    expect(noneAsked.text).toContain('<a href="#partners">Choose at least one organisation to ask.</a>');
    const askedHost = await dpo.post(`${url}/partners`, { _csrf: FormClient.csrf(opened.text), partners: w.host.id });
    expect(askedHost.location).toBe(`${url}?done=asked`);
    expect((await dpo.get(url)).text).not.toContain(`action="${url}/partners"`);
    const { client: member, home } = await signedIn(w.member);
    expect(home).not.toContain('href="/subject-access"');
    for (const path of ['/subject-access', '/subject-access/new', url, `${url}?q=Smith`]) {
      const res = await member.get(path);
      expect(res.status, path).toBe(404);
      expect(res.text).not.toContain('Sam Smith');
    }
    const csrf = FormClient.csrf(home);
    for (const [path, form] of [
      ['/subject-access', { subjectName: 'Sam Smith', receivedOn: '2026-01-05' }], [`${url}/items`, { documentIds: w.own }], [`${url}/searched`, { searched: 'true' }],
      [`${url}/extend`, { reason: 'Not mine to extend at all' }], [`${url}/close`, { outcome: 'disclosed' }], [`${url}/partners`, { partners: w.host.id }], [`${url}/package`, {}],
    ] as const) {
      expect((await member.post(path, { _csrf: csrf, ...form })).status, path).toBe(404);
    }
    // A DPO of a council with no arrangement: no such request.
    const stranger = await createOrganisation(t.vault);
    const strangerDpo = await addPerson(t.vault, stranger.slug, { roles: ['dpo'] });
    const { client: outsider } = await signedIn(strangerDpo);
    expect((await outsider.get(url)).status).toBe(404);
    expect((await outsider.get('/subject-access')).text).not.toContain(url);

    const { client: hostDpo } = await signedIn(w.hostDpo);
    expect((await hostDpo.get(url)).status).toBe(200);
    await t.vault.arrangements.suspend(systemActor(), w.arrangement.id);
    expect((await hostDpo.get(url)).status).toBe(404);
    const register = await hostDpo.get('/subject-access');
    expect(register.status).toBe(200);
    expect(register.text).not.toContain(url);
    expect(register.text).toContain('No partner has asked your organisation to search its records.');
    // Nor is the suspended partner offered for a new request.
    const form = await dpo.get('/subject-access/new');
    expect(form.status).toBe(200);
    expect(form.text).not.toContain(`value="${w.host.id}"`);
    expect(form.text).toContain('there is no partner to ask');
  });

  it('escapes what a DPO typed everywhere it is shown, and shows an overdue request as overdue', async () => {
    const w = await world();
    const { client: dpo } = await signedIn(w.dpo);
    const url = await open(dpo, { reference: HOSTILE_REFERENCE, subjectName: HOSTILE, subjectDetails: `Details ${HOSTILE}`, receivedOn: '2026-01-05', partners: w.host.id });
    const { client: hostDpo } = await signedIn(w.hostDpo);
    for (const [who, client] of [['requester', dpo], ['partner', hostDpo]] as const) {
      const page = await client.get(url);
      expect(page.status, who).toBe(200);
      expect(page.text, who).not.toContain('<script>alert(1)</script>');
      expect(page.text, who).toContain(REFERENCE_ESCAPED);
      expect(page.text, who).not.toContain('<b title=x>');
      expect(page.text, who).toContain(`Details ${ESCAPED}`);
      expect(page.text, who).toContain(`value="${ESCAPED}"`);
      expect(page.text, who).toMatch(/govuk-tag--red">\s*Overdue\s*<\/strong>/);
      const register = await client.get('/subject-access');
      expect(register.text, who).not.toContain('<script>alert(1)</script>');
      expect(register.text, who).toContain(`${REFERENCE_ESCAPED}</a>`);
      expect(register.text, who).toMatch(/govuk-tag--red">\s*Overdue\s*<\/strong>/);
    }
    // Typed back into the search box, it is escaped too (whatever the search makes of it).
    const typed = await hostDpo.get(`${url}?q=${encodeURIComponent(HOSTILE)}`);
    expect(typed.status).toBe(200);
    expect(typed.text).not.toContain('<script>alert(1)</script>');
    expect(typed.text).toContain(`Nothing of your organisation’s matches “${ESCAPED}”.`);
    // Words the search cannot use are the search's message on the box, a 400 as on the search page.
    const bad = await hostDpo.get(`${url}?q=${encodeURIComponent('-payslip')}`);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('<a href="#q">Say what to look for, not only what to leave out (words after a minus sign are left out).</a>');
    // And on the form shown again with an error.
    const form = await dpo.get('/subject-access/new');
    const refused = await dpo.post('/subject-access', { _csrf: FormClient.csrf(form.text), reference: HOSTILE_REFERENCE, subjectName: HOSTILE, subjectDetails: HOSTILE, receivedOn: '2099-01-01' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('The date the request was received cannot be in the future.');
    expect(refused.text).not.toContain('<script>alert(1)</script>');
    expect(refused.text).toContain(`value="${ESCAPED}"`);
    expect(refused.text).toContain(`value="${REFERENCE_ESCAPED}"`);
    expect(refused.text).toContain(`>${ESCAPED}</textarea>`);
  });

  it('has no serious accessibility problems on the register, the form and a request’s page, for either side', async () => {
    const w = await world();
    const { client } = await signedIn(w.dpo);
    const url = await open(client, { subjectName: w.shared, receivedOn: '2026-01-05', partners: w.host.id });
    for (const [user, paths] of [[w.dpo, ['/subject-access', '/subject-access/new', url]], [w.hostDpo, ['/subject-access', url]]] as const) {
      const context = await chrome.browser.newContext({ baseURL: base });
      try {
        const page = await context.newPage();
        page.setDefaultTimeout(15_000);
        await page.goto('/sign-in');
        await page.fill('#email', user.email);
        await page.fill('#password', PASSWORD);
        await page.click('#sign-in');
        await page.waitForSelector('#header-search');
        for (const path of paths) {
          expect((await page.goto(path))?.status(), path).toBe(200);
          expect(await seriousViolations(page), path).toEqual([]);
        }
      } finally {
        await context.close();
      }
    }
  }, 60_000);
});
