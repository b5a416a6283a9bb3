// The web interface tests' browser: a headless Chromium (playwright-core) and axe-core for
// accessibility checks. Apart from support.ts so that only the files that start a browser load it.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const SCREENSHOTS = path.resolve('test-results', 'ui');

const require = createRequire(import.meta.url);

export interface TestBrowser {
  browser: Browser;
  context: BrowserContext;
  downloadsDir: string;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const downloadsDir = await mkdtemp(path.join(tmpdir(), 'sr-downloads-'));
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // Playwright gives every launch a fresh, throw-away user-data-dir of its own (it refuses
    // --user-data-dir with launch(), which would share one profile between contexts).
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ acceptDownloads: true });
  await mkdir(SCREENSHOTS, { recursive: true });
  return {
    browser, context, downloadsDir,
    async close() {
      await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await rm(downloadsDir, { recursive: true, force: true });
    },
  };
}

let axeSource: string | null = null;

export interface AxeViolation { id: string; impact: string | null; help: string; nodes: { target: unknown[]; html: string }[] }

/** Runs axe-core on the page; returns the serious and critical violations. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  // Injected through the DevTools protocol, so the page's CSP does not apply to it.
  await page.evaluate(axeSource);
  const result = (await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe;
    return axe.run((globalThis as unknown as { document: unknown }).document, { resultTypes: ['violations'] });
  })) as { violations: AxeViolation[] };
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
