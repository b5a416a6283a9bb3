// End to end in headless Chromium: sign in with TOTP (and set it up at first sign-in), upload files
// with the progress bar, open and download one byte-for-byte, propose and accept an arrangement as two
// org admins, then see the partner's document as a member of the serving team. axe-core checks every
// page on the way; screenshots go to test-results/ui/. The pages' HTML does not depend on the database,
// so axe and the screenshots run on the first dialect's journey only (they were half of its time on two
// cores); the journeys themselves run on both.
import { readFile } from 'node:fs/promises';
import { generateSync } from 'otplib';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { docm, pseudoRandomBytes, strongroomTestSample } from '../support/samples.js';
import { DIALECTS, createOrganisation, openTestVault, type TestOrganisation, type TestVault } from '../support/vault.js';
import { launchBrowser, screenshot, seriousViolations, type TestBrowser } from './browser.js';
import { PASSWORD, addPerson, enrolTotp, totp } from './support.js';

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

describe.each(DIALECTS)('web interface in Chromium on %s', (dialect) => {
  let t: TestVault;
  let base: string;
  let host: TestOrganisation;
  let partner: TestOrganisation;
  const contexts: BrowserContext[] = [];
  const axeFindings: string[] = [];
  let expect404 = false;

  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    host = await createOrganisation(t.vault, { region: 'North West' });
    partner = await createOrganisation(t.vault, { region: 'East of England' });
    // Its admin invites people in its own e-mail domain (docs/identity.md#adding-people).
    await t.vault.organisations.changeEmailDomains(systemActor(), partner.slug, { add: [`${partner.slug}.test`] });
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await t?.close();
  });

  async function newPage(options: { javaScriptEnabled?: boolean } = {}): Promise<Page> {
    const context = await chrome.browser.newContext({ acceptDownloads: true, baseURL: base, ...options });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => axeFindings.push(`page error on ${page.url()}: ${error.message}`));
    page.on('console', (message) => {
      // The one 404 this journey asks for on purpose is not a fault of the page.
      if (message.type() === 'error' && !(expect404 && /status of 404/.test(message.text()))) axeFindings.push(`console error on ${page.url()}: ${message.text()}`);
    });
    return page;
  }

  let scratch: Page | null = null;

  /** axe on the current page (no serious or critical violations), and a screenshot; on the first dialect. */
  async function check(page: Page, name: string, options: { javaScriptDisabled?: boolean } = {}): Promise<void> {
    if (dialect !== DIALECTS[0]) return;
    let target = page;
    if (options.javaScriptDisabled) {
      // axe is JavaScript: check the no-JavaScript page's exact HTML in a scratch page of the same origin.
      scratch ??= await newPage();
      await scratch.goto('/sign-in');
      await scratch.setContent(await page.content());
      target = scratch;
    }
    const violations = await seriousViolations(target);
    for (const v of violations) axeFindings.push(`${name} (${page.url()}): ${v.id} [${v.impact}] ${v.help} at ${v.nodes.map((n) => n.html).join(' | ')}`);
    await screenshot(page, name);
  }

  async function signIn(page: Page, email: string, name: string, options: { javaScriptDisabled?: boolean } = {}): Promise<void> {
    await page.goto('/sign-in');
    await check(page, `${name}-sign-in`, options);
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.click('#sign-in');
    await page.waitForLoadState();
  }

  it('runs the main journeys with no serious accessibility problems', async () => {
    const hostAdmin = await addPerson(t.vault, host.slug, { roles: ['org_admin'], name: 'Hana Host-Admin' });
    const partnerAdmin = await addPerson(t.vault, partner.slug, { roles: ['org_admin'], name: 'Piers Partner-Admin' });
    const partnerSecret = await enrolTotp(t.vault, partnerAdmin.id);
    const partnerClerk = await addPerson(t.vault, partner.slug, { teams: ['payroll'], name: 'Paula Payroll' });
    const servingClerk = await addPerson(t.vault, host.slug, { teams: ['payroll'], name: 'Sid Serving-Team' });

    // 1. A partner payroll clerk signs in (password only) and uploads two files with progress bars.
    const clerk = await newPage();
    await signIn(clerk, partnerClerk.email, 'clerk');
    await expect.poll(() => clerk.textContent('h1')).toContain('Welcome, Paula Payroll');
    await check(clerk, 'home');
    await clerk.goto(`/upload?collection=${partner.collections.payroll}`);
    await check(clerk, 'upload');
    const payslips = Buffer.from('employee_ref,period,net\nFM0001,2026-10,1979.60\n'.repeat(2000));
    const scan = pseudoRandomBytes(300_000);
    await clerk.setInputFiles('#files', [
      { name: 'payslips-2026-10.csv', mimeType: 'text/csv', buffer: payslips },
      { name: 'scan-0001.bin', mimeType: 'application/octet-stream', buffer: scan },
    ]);
    await clerk.click('#upload-button');
    await clerk.waitForSelector('#upload-progress li[data-status]:nth-child(2)', { timeout: 30_000 });
    expect(await clerk.locator('#upload-progress progress').count()).toBe(2);
    expect(await clerk.locator('#upload-progress progress').evaluateAll((bars) => bars.map((b) => (b as unknown as { value: number }).value))).toEqual([100, 100]);
    expect(await clerk.locator('#upload-progress li').evaluateAll((items) => items.map((i) => (i as unknown as { dataset: Record<string, string> }).dataset.status))).toEqual(['available', 'available']);
    await check(clerk, 'upload-progress');

    // Refused files are reported per file: a macro-enabled document and a file with (test) malware.
    await clerk.goto(`/upload?collection=${partner.collections.payroll}`);
    await clerk.setInputFiles('#files', [
      { name: 'budget.docm', mimeType: 'application/vnd.ms-word.document.macroEnabled.12', buffer: docm() },
      { name: 'invoice.txt', mimeType: 'text/plain', buffer: strongroomTestSample() },
    ]);
    await clerk.click('#upload-button');
    await clerk.waitForSelector('#upload-progress li[data-status]:nth-child(2)', { timeout: 30_000 });
    const refused = await clerk.locator('#upload-progress li').evaluateAll((items) => items.map((i) => [(i as unknown as { dataset: Record<string, string> }).dataset.status, i.textContent ?? '']));
    expect(refused[0]![0]).toBe('blocked');
    expect(refused[0]![1]).toMatch(/Blocked: macro-enabled document/);
    expect(refused[1]![0]).toBe('quarantined');
    expect(refused[1]![1]).toMatch(/Blocked: malware/);
    await check(clerk, 'upload-refused');

    // 2. Open the first document and download it: the bytes match.
    await clerk.goto(`/collections/${partner.collections.payroll}`);
    await check(clerk, 'collection');
    await clerk.click('text=payslips-2026-10.csv');
    await clerk.waitForSelector('#document-name');
    await check(clerk, 'document');
    const [download] = await Promise.all([clerk.waitForEvent('download'), clerk.click('#download')]);
    expect(download.suggestedFilename()).toBe('payslips-2026-10.csv');
    expect((await readFile((await download.path())!)).equals(payslips)).toBe(true);
    const documentUrl = new URL(clerk.url()).pathname;

    // Before any arrangement the host's payroll team cannot open it (404, as if it did not exist).
    const serving = await newPage();
    await signIn(serving, servingClerk.email, 'serving');
    expect404 = true;
    const before = await serving.goto(documentUrl);
    expect404 = false;
    expect(before?.status()).toBe(404);
    await check(serving, 'not-found');

    // 3. The host's org admin signs in the first time: sets up TOTP from the QR page, then proposes.
    const hostPage = await newPage();
    await signIn(hostPage, hostAdmin.email, 'host-admin');
    await hostPage.waitForSelector('#mfa-secret');
    await check(hostPage, 'mfa-setup');
    const secret = (await hostPage.textContent('#mfa-secret'))!.replace(/\s/g, '');
    await hostPage.fill('#code', generateSync({ secret }));
    await hostPage.click('#continue');
    await hostPage.waitForSelector('#recovery-codes');
    await check(hostPage, 'recovery-codes');
    await hostPage.click('text=Continue');
    await hostPage.goto('/arrangements/new');
    await check(hostPage, 'arrangement-new');
    await hostPage.check(`input[name=partners][value="${partner.id}"]`);
    await hostPage.selectOption('#serviceArea', 'payroll');
    await hostPage.fill('#purpose', 'Host runs payroll for the partner council');
    await hostPage.fill('#lawfulBasis', 'UK GDPR Art 6(1)(e) public task; Art 28 processing agreement');
    await hostPage.check('#accessLevel');
    await hostPage.check('input[name=ceiling][value="OFFICIAL-SENSITIVE"]');
    await hostPage.fill('#annualSavingPounds', '120000');
    await hostPage.click('#submit-proposal');
    await hostPage.waitForSelector('#revisions');
    await check(hostPage, 'arrangement-proposed');
    const arrangementUrl = new URL(hostPage.url()).pathname;

    // 4. The partner's org admin signs in with a TOTP code and accepts.
    const partnerPage = await newPage();
    await signIn(partnerPage, partnerAdmin.email, 'partner-admin');
    await partnerPage.waitForSelector('#code').catch(async (error: unknown) => {
      await screenshot(partnerPage, 'debug');
      throw new Error(`${String(error)} at ${partnerPage.url()}: ${(await partnerPage.textContent('main'))?.slice(0, 500)}`);
    });
    await check(partnerPage, 'mfa-code');
    await partnerPage.fill('#code', totp(partnerSecret));
    await partnerPage.click('#continue');
    await partnerPage.waitForSelector('text=Pending reviews');
    await check(partnerPage, 'admin-home');
    await partnerPage.goto(arrangementUrl);
    await partnerPage.click('#accept-arrangement');
    await partnerPage.waitForSelector('text=Your organisation accepted the arrangement.');
    expect(await partnerPage.textContent('.govuk-summary-list')).toContain('In force');
    await check(partnerPage, 'arrangement-active');
    await partnerPage.goto('/arrangements');
    await check(partnerPage, 'arrangements');
    await partnerPage.goto('/reports/shared-services');
    expect(await partnerPage.textContent('main')).toContain('£120,000');
    await check(partnerPage, 'report');
    await partnerPage.goto('/admin/users');
    await check(partnerPage, 'admin-users');
    await partnerPage.goto(`/admin/users/${partnerClerk.id}`);
    await check(partnerPage, 'admin-user');
    // The password reset's confirmation (not confirmed here: the clerk signs in again below).
    await partnerPage.click('#reset-password');
    await partnerPage.waitForURL(`**/admin/users/${partnerClerk.id}/reset-password`);
    await check(partnerPage, 'admin-user-reset-password');
    await partnerPage.goto('/audit/verify');
    await check(partnerPage, 'audit-verify');
    await partnerPage.goto('/account');
    await check(partnerPage, 'account');

    // 5. The host's payroll team now browses the partner's collections and opens the document.
    await serving.goto('/');
    await check(serving, 'serving-home');
    await serving.goto(`/organisations/${partner.slug}`);
    await check(serving, 'partner-organisation');
    await serving.click('text=payroll');
    await serving.click('text=payslips-2026-10.csv');
    await serving.waitForSelector('#document-name');
    expect(new URL(serving.url()).pathname).toBe(documentUrl);
    await check(serving, 'partner-document');
    const [again] = await Promise.all([serving.waitForEvent('download'), serving.click('#download')]);
    expect((await readFile((await again.path())!)).equals(payslips)).toBe(true);

    expect(axeFindings).toEqual([]);
  }, 300_000);

  it('works without JavaScript, and the admin, quarantine and audit pages pass axe too', async () => {
    const clerk = await addPerson(t.vault, partner.slug, { teams: ['finance'], name: 'Fred Finance' });
    const noJs = await newPage({ javaScriptEnabled: false });
    await signIn(noJs, clerk.email, 'nojs', { javaScriptDisabled: true });
    await noJs.goto(`/upload?collection=${partner.collections.finance}`);
    await noJs.setInputFiles('#files', [
      { name: 'budget-2027.csv', mimeType: 'text/csv', buffer: Buffer.from('line,amount\n1,100\n') },
      { name: 'suspicious.txt', mimeType: 'text/plain', buffer: strongroomTestSample() },
    ]);
    await noJs.click('#upload-button');
    await noJs.waitForSelector('#upload-results');
    expect(await noJs.locator('#upload-results tbody tr').allTextContents()).toEqual([
      expect.stringContaining('Uploaded'), expect.stringContaining('Blocked: malware'),
    ]);
    await check(noJs, 'nojs-upload-results', { javaScriptDisabled: true });
    await noJs.click('text=budget-2027.csv');
    await noJs.waitForSelector('#document-name');
    await noJs.click('text=Access history');
    await noJs.waitForSelector('h1:has-text("Access history")');
    await check(noJs, 'document-history', { javaScriptDisabled: true });

    const security = await addPerson(t.vault, partner.slug, { roles: ['security_admin'], name: 'Sam Security' });
    const securitySecret = await enrolTotp(t.vault, security.id);
    const securityPage = await newPage();
    await signIn(securityPage, security.email, 'security');
    await securityPage.fill('#code', totp(securitySecret));
    await securityPage.click('#continue');
    await securityPage.waitForSelector('text=Review the quarantine');
    await securityPage.goto('/admin/quarantine');
    expect(await securityPage.textContent('main')).toContain('suspicious.txt');
    await check(securityPage, 'quarantine');

    const admin = await addPerson(t.vault, partner.slug, { roles: ['org_admin'], name: 'Ada Admin' });
    const adminSecret = await enrolTotp(t.vault, admin.id);
    const adminPage = await newPage();
    await signIn(adminPage, admin.email, 'admin');
    await adminPage.fill('#code', totp(adminSecret));
    await adminPage.click('#continue');
    await adminPage.goto('/admin/users/new');
    await check(adminPage, 'admin-user-new');
    await adminPage.fill('#email', `new-${Date.now()}@${partner.slug}.test`);
    await adminPage.fill('#name', 'Nia Newcomer');
    await adminPage.check('input[name=teams][value=hr]');
    await adminPage.click('button:has-text("Invite")');
    await adminPage.waitForSelector('#generated-password');
    await check(adminPage, 'admin-user-invited');

    const auditor = await addPerson(t.vault, partner.slug, { roles: ['auditor'], name: 'Aisha Auditor' });
    const auditPage = await newPage();
    await signIn(auditPage, auditor.email, 'auditor');
    await auditPage.goto(`/audit?action=quarantine`);
    await auditPage.goto(`/audit?actor=${encodeURIComponent(clerk.email)}`);
    expect(await auditPage.locator('#events tbody tr').count()).toBeGreaterThan(0);
    await check(auditPage, 'audit-search');

    expect(axeFindings).toEqual([]);
  }, 300_000);
});
