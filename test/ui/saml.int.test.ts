// SAML sign-in in headless Chromium, the way a council's staff meet it: Strongroom on 127.0.0.1 sends the
// browser to a test identity provider on another site (127.0.0.2), whose page posts the signed response
// back cross-site. The browser sends no Lax cookie with that POST, so Strongroom's page posts it back
// from its own origin (with JavaScript at once, without it by the Continue button) and the person lands
// signed in where they were going. axe-core checks the pages on the way.
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../src/domain/identity/federation.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { createOrganisation, openTestVault, type TestOrganisation, type TestVault } from '../support/vault.js';
import { makeIdp, signedResponse, type TestIdp } from '../identity/saml-idp.js';
import { SAME_ORIGIN, samlProvider } from '../identity/saml-flow.js';
import { launchBrowser, screenshot, seriousViolations, type TestBrowser } from './browser.js';

const IDP_HOST = '127.0.0.2';

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The identity provider's side: reads the AuthnRequest, "signs the person in", posts a signed response to its ACS URL. */
function startIdp(idp: TestIdp, person: () => string): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${IDP_HOST}`);
    const samlRequest = url.searchParams.get('SAMLRequest');
    if (url.pathname !== '/saml2' || !samlRequest) return void res.writeHead(404).end();
    const request = inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8');
    const id = /\sID="([^"]+)"/.exec(request)![1]!;
    const acsUrl = /AssertionConsumerServiceURL="([^"]+)"/.exec(request)![1]!;
    const issuer = /<saml:Issuer[^>]*>([^<]+)<\/saml:Issuer>/.exec(request)![1]!;
    const response = signedResponse(idp, { inResponseTo: id, acsUrl, audience: issuer, nameId: person() });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(
      `<!doctype html><html lang="en"><title>Test IdP</title><body><form method="post" action="${acsUrl}"><input type="hidden" name="SAMLResponse" value="${response}"><button>Send</button></form><script>document.forms[0].submit()</script></body></html>`);
  });
  return new Promise((resolve) => server.listen(0, IDP_HOST, () => resolve({ server, base: `http://${IDP_HOST}:${(server.address() as { port: number }).port}` })));
}

describe('SAML sign-in in Chromium', () => {
  let clamd: TestClamd;
  let chrome: TestBrowser;
  let t: TestVault;
  let base: string;
  let org: TestOrganisation;
  let provider: IdentityProvider;
  let idpServer: Server;
  let email = '';
  const findings: string[] = [];

  beforeAll(async () => {
    clamd = await startTestClamd();
    chrome = await launchBrowser();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, env: { STRONGROOM_PUBLIC_URL: base } });
    await t.app.listen({ host: '127.0.0.1', port });
    const idp = makeIdp('browser');
    const started = await startIdp(idp, () => email);
    idpServer = started.server;
    org = await createOrganisation(t.vault);
    provider = await samlProvider(t.vault, org.id, { ...idp, entryPoint: `${started.base}/saml2` });
  });
  afterAll(async () => {
    await new Promise((resolve) => idpServer?.close(resolve));
    await chrome?.close();
    await t?.close();
    await clamd?.stop();
  });

  async function signInThroughProvider(options: { javaScriptEnabled: boolean }): Promise<{ page: Page; acsStatuses: number[] }> {
    const context = await chrome.browser.newContext({ baseURL: base, javaScriptEnabled: options.javaScriptEnabled });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => findings.push(`page error on ${page.url()}: ${error.message}`));
    const acsStatuses: number[] = [];
    page.on('response', (response) => {
      if (response.url() === `${base}/sign-in/saml/${provider.id}/acs`) acsStatuses.push(response.status());
    });
    await page.goto(`/sign-in/saml/${provider.id}?next=${encodeURIComponent('/upload')}`);
    return { page, acsStatuses };
  }

  it('signs a person in through the provider: its cross-site POST is re-posted from Strongroom with the browser\'s cookies', async () => {
    email = (await org.user({ roles: ['member'] })).email;
    const { page, acsStatuses } = await signInThroughProvider({ javaScriptEnabled: true });
    await page.waitForURL(`${base}/upload`);
    // First the provider's POST (no cookies: answered with the re-post page), then ours (checked, 303).
    expect(acsStatuses).toEqual([200, 303]);
    expect(await page.locator('h1').first().textContent()).toMatch(/Upload/);
    await screenshot(page, 'saml-signed-in');
    await page.context().close();
    expect(findings).toEqual([]);
  });

  it('works without JavaScript: the person selects Continue', async () => {
    email = (await org.user({ roles: ['member'] })).email;
    const { page, acsStatuses } = await signInThroughProvider({ javaScriptEnabled: false });
    // The test provider's own page needs its button too without JavaScript.
    await page.click('button');
    await page.waitForURL(`${base}/sign-in/saml/${provider.id}/acs`);
    expect(await page.locator('h1').textContent()).toBe('Continue signing in');
    const context = await chrome.browser.newContext({ baseURL: base });
    const scratch = await context.newPage();
    await scratch.goto('/sign-in');
    await scratch.setContent(await page.content());
    expect((await seriousViolations(scratch)).map((v) => v.id)).toEqual([]);
    await context.close();
    await page.click('#continue');
    await page.waitForURL(`${base}/upload`);
    expect(acsStatuses).toEqual([200, 303]);
    await page.context().close();
  });

  it('refuses, with a clear page, a response posted into a browser that did not start the sign-in', async () => {
    email = (await org.user({ roles: ['member'] })).email;
    // A browser that only ever visits the provider (as a victim of a forged login would).
    const context = await chrome.browser.newContext();
    const page = await context.newPage();
    const idpUrl = new URL(provider.saml!.entryPoint);
    // An AuthnRequest someone else's browser obtained from Strongroom.
    const other = await t.app.inject({ method: 'GET', url: `/sign-in/saml/${provider.id}`, headers: SAME_ORIGIN });
    await page.goto(`${idpUrl.origin}/saml2${new URL(other.headers.location as string).search}`);
    await page.waitForURL(`${base}/sign-in/saml/${provider.id}/acs`);
    await page.waitForSelector('#refusal');
    expect(await page.locator('#refusal').textContent()).toBe('This sign-in was not started in this browser, or it took too long. Go back to the sign-in page and start again.');
    expect((await context.cookies(base)).map((c) => c.name)).not.toContain('strongroom-session');
    expect((await seriousViolations(page)).map((v) => v.id)).toEqual([]);
    await context.close();
  });
});
