// OpenID Connect in headless Chromium: the sign-in page's button, the provider's own login page (a real
// oidc-provider on 127.0.0.1), signed in at Strongroom's home page; then sign-out ends the session at the
// provider too and comes back to Strongroom's sign-in page. One dialect: the protocol tests run on both.
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { createOrganisation } from '../support/vault.js';
import { launchBrowser, seriousViolations, type TestBrowser } from '../ui/browser.js';
import { startOpenIdProvider, type TestOpenIdProvider } from './oidc-provider.js';

const clamd = useClamd();

describe('OpenID Connect sign-in in Chromium', () => {
  const t = useTestVault('sqlite', clamd, { listen: true });
  let base: string;
  let idp: TestOpenIdProvider;
  let chrome: TestBrowser;
  let context: BrowserContext;

  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    idp = await startOpenIdProvider(base);
    chrome = await launchBrowser();
    context = await chrome.browser.newContext({ baseURL: base });
  });
  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await chrome?.close();
    await idp?.close();
  });

  it('signs in with the provider\'s button and its own login page, and signs out there too', { timeout: 120_000 }, async () => {
    const org = await createOrganisation(t.vault);
    await t.vault.identityProviders.add(systemActor(), org.id, {
      kind: 'oidc', name: 'North Shire Council', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, scopes: ['openid', 'email', 'profile'],
    });
    const person = await org.user({ roles: ['member'] });
    idp.accounts.set('sam.jones', { email: person.email, email_verified: true, name: 'Sam Jones' });

    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`/sign-in?org=${org.slug}`);
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Sign in with North Shire Council' }).click();
    // The provider's own page, on its own address.
    await page.waitForURL((url) => url.href.startsWith(`${idp.issuer}/interaction/`));
    await page.locator('input[name="login"]').fill('sam.jones');
    await page.locator('input[name="password"]').fill('whatever the directory asks');
    await page.locator('button[type="submit"]').click();
    await page.waitForURL(`${base}/`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Welcome, Test User');

    await page.locator('#sign-out').click();
    // The provider asks whether to sign out there too (its own page), then sends the browser back.
    await page.waitForURL((url) => url.href.startsWith(`${idp.issuer}/session/end`));
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL(`${base}/sign-in?signed-out`);
    await expect(page.getByText('You have signed out.').isVisible()).resolves.toBe(true);
    await page.goto('/');
    expect(new URL(page.url()).pathname).toBe('/sign-in');
  });
});
