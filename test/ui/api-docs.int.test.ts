// The interactive API documentation (`/api/docs`, Swagger UI) is a page of this origin like any other, so it
// wears the same Content-Security-Policy: until the attack review of the web surface (7 December) it wore none
// at all, so a flaw in the bundled Swagger UI (which renders the API description, and deep links from the
// address) would have run script in the origin every council's session cookie belongs to. The page works
// under the strict policy (its bootstrap is a script file, not inline), which a browser proves here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { openTestVault, type TestVault } from '../support/vault.js';
import { launchBrowser, type TestBrowser } from './browser.js';
import { FormClient } from './support.js';

const clamd = useClamd();

describe('the API documentation page', () => {
  let t: TestVault;
  let base: string;
  beforeAll(async () => {
    // No database question is asked: the page and its scripts are the same on either dialect.
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, listen: true });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('wears the strict policy on the page, its scripts and the description it loads', async () => {
    const client = new FormClient(base);
    for (const url of ['/api/docs', '/api/docs/', '/api/docs/static/swagger-initializer.js', '/api/docs/static/swagger-ui-bundle.js', '/api/docs/json', '/api/docs/static/oauth2-redirect.html']) {
      const page = await client.get(url);
      expect(page.status, url).toBe(200);
      const csp = page.headers.get('content-security-policy');
      expect(csp, url).toContain("script-src 'self'");
      expect(csp, url).toContain("frame-ancestors 'none'");
      expect(csp, url).toContain("base-uri 'none'");
      expect(csp, url).toContain("object-src 'none'");
      expect(csp, url).not.toContain('unsafe-eval');
      expect(csp, url).not.toMatch(/script-src[^;]*'unsafe-inline'/);
      expect(page.headers.get('x-content-type-options'), url).toBe('nosniff');
    }
  });

  it('still shows the API under that policy, with nothing refused by it', async () => {
    let browser: TestBrowser | undefined;
    try {
      browser = await launchBrowser();
      const page = await browser.context.newPage();
      const refused: string[] = [];
      page.on('console', (message) => {
        if (/Content[- ]Security[- ]Policy/i.test(message.text())) refused.push(message.text());
      });
      await page.goto(`${base}/api/docs`);
      await page.waitForSelector('.swagger-ui .info .title', { timeout: 20_000 });
      expect(await page.textContent('.swagger-ui .info .title')).toContain('Strongroom API');
      await page.waitForSelector('.opblock-tag', { timeout: 20_000 });
      expect(await page.locator('.opblock-tag').count()).toBeGreaterThan(5);
      expect(refused).toEqual([]);
    } finally {
      await browser?.close();
    }
  });
});
