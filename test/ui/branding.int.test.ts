// The header every page wears: neutral by default (no GOV.UK crown, logotype or favicon), the
// deployment's own service name, organisation name, colour and logo when it sets them, and an
// organisation's own (set by its org admin) laid over those for that organisation's staff alone.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import sharp from 'sharp';
import { systemActor } from '../../src/services/identity.service.js';
import { createOrganisation, openTestVault, type TestVault } from '../support/vault.js';
import { launchBrowser, seriousViolations } from './browser.js';
import { FormClient, PASSWORD, addPerson, enrolTotp, totp } from './support.js';

/** Marks of GOV.UK's identity that only services on GOV.UK may use. */
const GOVUK_MARKS = [/govuk-logo/, /govuk-header__logotype/, /govuk-footer__crown/, /Crown copyright/, /GOV\.UK/, /favicon/, /govuk-crest/];

const SVG_LOGO = '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="#00703c"/></svg>\n';

let clamd: TestClamd;
let dir: string;
beforeAll(async () => {
  clamd = await startTestClamd();
  dir = await mkdtemp(path.join(tmpdir(), 'sr-brand-'));
});
afterAll(async () => {
  await clamd?.stop();
  await rm(dir, { recursive: true, force: true });
});

function baseOf(t: TestVault): string {
  const address = t.app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

const headerOf = (html: string): string => /<header class="govuk-template__header">[\s\S]*?<\/header>/.exec(html)?.[0] ?? '';

describe('the default header', () => {
  let t: TestVault;
  let client: FormClient;
  let email: string;
  beforeAll(async () => {
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, listen: true });
    const org = await createOrganisation(t.vault);
    email = (await addPerson(t.vault, org.slug, { roles: ['member'] })).email;
    client = new FormClient(baseOf(t));
  });
  afterAll(async () => t?.close());

  it('on the sign-in page and a signed-in page: the service name as text, no crown, logotype or GOV.UK anywhere', async () => {
    const signIn = await client.get('/sign-in');
    expect(signIn.status).toBe(200);
    const home = await client.signIn(email);
    for (const html of [signIn.text, home]) {
      for (const mark of GOVUK_MARKS) expect(html).not.toMatch(mark);
      const header = headerOf(html);
      expect(header).toContain('govuk-generic-header');
      expect(header).toMatch(/<span class="sr-brand-name">Strongroom<\/span>/);
      expect(header).not.toContain('<svg');
      expect(header).not.toContain('<img');
      expect(html).not.toContain('/branding/header-');
      expect(html).toContain('<title>');
      expect(html).toMatch(/– Strongroom<\/title>/);
    }
    // The search slice's header box still comes with signed-in pages.
    expect(headerOf(home)).toContain('id="header-search"');
  });

  it('has no logo to serve', async () => {
    const res = await client.get('/branding/logo');
    expect(res.status).toBe(404);
  });

  it('an org admin’s pages, the Branding page among them, wear no GOV.UK mark either, before or after the organisation sets its brand', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const adminClient = new FormClient(baseOf(t));
    expect(await adminClient.signIn(admin.email, PASSWORD, await enrolTotp(t.vault, admin.id))).toContain('href="/admin/branding"');
    const pages = async () => Promise.all(['/', '/admin/branding', '/admin/users', '/account', `/organisations/${org.slug}`].map(async (url) => {
      const page = await adminClient.get(url);
      expect(page.status, url).toBe(200);
      return page.text;
    }));
    for (const html of await pages()) for (const mark of GOVUK_MARKS) expect(html).not.toMatch(mark);
    await t.vault.branding.update(systemActor(), org.slug, { displayName: 'Ambridge Parish', colour: '#00703c', logo: await sharp({ create: { width: 40, height: 40, channels: 3, background: '#ffffff' } }).png().toBuffer() });
    for (const html of await pages()) {
      for (const mark of GOVUK_MARKS) expect(html).not.toMatch(mark);
      expect(headerOf(html)).toContain('<span class="sr-brand-name">Ambridge Parish</span>');
    }
  });
});

describe('a deployment that sets its brand', () => {
  let t: TestVault;
  let client: FormClient;
  let email: string;
  beforeAll(async () => {
    const logo = path.join(dir, 'council.svg');
    await writeFile(logo, SVG_LOGO);
    t = await openTestVault({
      dialect: 'sqlite', clamdSocket: clamd.socketPath, listen: true,
      env: { STRONGROOM_SERVICE_NAME: 'Records vault', STRONGROOM_BRAND_NAME: 'Borsetshire <Council>', STRONGROOM_BRAND_COLOUR: '#FFDD00', STRONGROOM_BRAND_LOGO: logo },
    });
    const org = await createOrganisation(t.vault);
    email = (await addPerson(t.vault, org.slug, { roles: ['member'] })).email;
    client = new FormClient(baseOf(t));
  });
  afterAll(async () => t?.close());

  it('shows its organisation and service names, its colour and its logo as an image', async () => {
    const signIn = await client.get('/sign-in');
    const home = await client.signIn(email);
    for (const html of [signIn.text, home]) {
      for (const mark of GOVUK_MARKS) expect(html).not.toMatch(mark);
      const header = headerOf(html);
      expect(header).toContain('<span class="sr-brand-name">Borsetshire &lt;Council&gt;</span>');
      expect(header).toMatch(/<a href="\/" class="govuk-service-navigation__link">\s*Records vault\s*<\/a>/);
      expect(header).toMatch(/<img src="\/branding\/logo\?v=[0-9a-f]{16}" alt="" class="sr-brand-logo" height="40">/);
      expect(html).toContain('<link rel="stylesheet" href="/branding/header-ffdd00.css">');
      expect(html).toMatch(/– Records vault<\/title>/);
    }
  });

  it('serves the colour as a stylesheet with readable text on it, and nothing for a colour that is not #rrggbb', async () => {
    const css = await client.get('/branding/header-ffdd00.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    // Yellow is pale: near-black text, not white.
    expect(css.text).toBe('.sr-brand-header.govuk-generic-header{background:#ffdd00;border-bottom-color:#ffdd00;--govuk-text-colour:#0b0c0c;color:#0b0c0c}\n');
    const dark = await client.get('/branding/header-00703c.css');
    expect(dark.text).toContain('--govuk-text-colour:#ffffff');
    for (const bad of ['/branding/header-red.css', '/branding/header-ffdd00%7D%2A%7B.css', '/branding/header-fffffff.css']) {
      expect((await client.get(bad)).status).toBe(404);
    }
  });

  it('serves an SVG logo as an image under a sandboxing policy, never inline', async () => {
    const res = await client.get('/branding/logo');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'; sandbox");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.text).toBe(SVG_LOGO);
  });

  it('lays an organisation’s own brand over the deployment’s for its own staff only; the sign-in page and other councils keep the deployment’s', async () => {
    const own = await createOrganisation(t.vault);
    const ownMember = await addPerson(t.vault, own.slug, { roles: ['member'] });
    const logo = await sharp({ create: { width: 80, height: 40, channels: 3, background: '#ffffff' } }).jpeg().toBuffer();
    const brand = await t.vault.branding.update(systemActor(), own.slug, { displayName: 'Ambridge Parish', colour: '#4C2C92', logo });
    const ownClient = new FormClient(baseOf(t));
    const ownHome = await ownClient.signIn(ownMember.email);
    const header = headerOf(ownHome);
    expect(header).toContain('<span class="sr-brand-name">Ambridge Parish</span>');
    // The deployment's service name stays; the organisation's colour and logo replace the deployment's.
    expect(header).toMatch(/<a href="\/" class="govuk-service-navigation__link">\s*Records vault\s*<\/a>/);
    expect(header).toContain(`<img src="/branding/organisation-logo/${brand.logo!.sha256}" alt="" class="sr-brand-logo" height="40">`);
    expect(ownHome).toContain('<link rel="stylesheet" href="/branding/header-4c2c92.css">');
    expect(ownHome).not.toContain('header-ffdd00.css');
    for (const mark of GOVUK_MARKS) expect(ownHome).not.toMatch(mark);
    // Everyone else: the deployment's brand, as before.
    const otherHome = await new FormClient(baseOf(t)).signIn(email);
    expect(headerOf(otherHome)).toContain('<span class="sr-brand-name">Borsetshire &lt;Council&gt;</span>');
    expect(otherHome).toContain('<link rel="stylesheet" href="/branding/header-ffdd00.css">');
    expect(otherHome).not.toContain('Ambridge');
    const signIn = await new FormClient(baseOf(t)).get('/sign-in');
    expect(signIn.text).not.toContain('Ambridge');
    expect(signIn.text).toContain('<link rel="stylesheet" href="/branding/header-ffdd00.css">');
  });

  it('keeps an org admin’s Branding page, with its errors shown, and an organisation-branded home page free of serious accessibility problems', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await addPerson(t.vault, org.slug, { roles: ['org_admin'] });
    const secret = await enrolTotp(t.vault, admin.id);
    await t.vault.branding.update(systemActor(), org.slug, { displayName: 'Ambridge Parish', colour: '#00703c', logo: await sharp({ create: { width: 40, height: 40, channels: 3, background: '#ffffff' } }).png().toBuffer() });
    const chrome = await launchBrowser();
    try {
      const context = await chrome.browser.newContext({ baseURL: baseOf(t) });
      const page = await context.newPage();
      await page.goto('/sign-in');
      await page.fill('#email', admin.email);
      await page.fill('#password', PASSWORD);
      await page.click('#sign-in');
      await page.waitForURL((url) => url.pathname === '/sign-in/code');
      await page.fill('#code', totp(secret));
      await page.click('#continue');
      await page.waitForURL((url) => url.pathname === '/');
      expect(await seriousViolations(page)).toEqual([]);
      const background = await page.locator('.sr-brand-header').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor);
      expect(background).toBe('rgb(0, 112, 60)');
      // The logo loads (same-origin, with the session) and is drawn.
      expect(await page.locator('img.sr-brand-logo').evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth)).toBe(40);
      await page.click('a[href="/admin/branding"]');
      await page.waitForURL((url) => url.pathname === '/admin/branding');
      expect(await seriousViolations(page)).toEqual([]);
      await page.fill('#colour', '#ffdd00');
      await page.click('#save-branding');
      await page.waitForSelector('.govuk-error-summary');
      expect(await page.locator('.govuk-error-summary').innerText()).toContain('The header colour #ffdd00 is too light');
      expect(await seriousViolations(page)).toEqual([]);
    } finally {
      await chrome.close();
    }
  });

  it('keeps the branded sign-in and home pages free of serious accessibility problems', async () => {
    const chrome = await launchBrowser();
    try {
      const context = await chrome.browser.newContext({ baseURL: baseOf(t) });
      const page = await context.newPage();
      await page.goto('/sign-in');
      expect(await seriousViolations(page)).toEqual([]);
      await page.fill('#email', email);
      await page.fill('#password', 'test-passphrase-for-vault');
      await page.click('#sign-in');
      await page.waitForURL((url) => url.pathname === '/');
      expect(await seriousViolations(page)).toEqual([]);
      // The stylesheet applied: the header wears the colour.
      const background = await page.locator('.sr-brand-header').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor);
      expect(background).toBe('rgb(255, 221, 0)');
    } finally {
      await chrome.close();
    }
  });
});
