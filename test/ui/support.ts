// Web interface test harness: a listening vault, people with known passwords (and TOTP secrets),
// and a cookie-keeping fetch client for form posts. The headless Chromium with axe-core is in
// browser.ts, apart, because loading playwright-core costs about half a second of CPU in every
// test file that imports it, and most of the files that use this harness never start a browser.
import { generateSecret, generateSync } from 'otplib';
import type { Vault } from '../../src/main.js';
import { systemActor } from '../../src/services/identity.service.js';
import { TEST_PASSWORD, setUpMfa } from '../support/vault.js';

/** Gives an existing user an authenticator secret (and recovery codes, by hash), as if they had set it up, and returns it. */
export async function enrolTotp(vault: Vault, userId: string, recoveryCodeHashes: string[] = []): Promise<string> {
  const secret = generateSecret();
  const user = await vault.store.repos.users.byId(userId);
  if (!user) throw new Error(`no person ${userId}`);
  await setUpMfa(vault, user, secret, recoveryCodeHashes);
  return secret;
}

/** A TOTP code for the next 30-second step, so it is never the one the service already saw. */
export function totp(secret: string, stepOffset = 0, now = Date.now()): string {
  return generateSync({ secret, epoch: Math.floor(now / 1000) + stepOffset * 30 });
}

export const PASSWORD = TEST_PASSWORD;

export async function addPerson(vault: Vault, slug: string, spec: { roles?: string[]; teams?: string[]; name?: string }) {
  const email = `${Math.random().toString(36).slice(2, 10)}@${slug}.test`;
  const { user } = await vault.userCreation.addUser(systemActor(), {
    organisationSlug: slug, email, name: spec.name ?? 'Test Person', roles: spec.roles ?? ['member'], teams: spec.teams ?? [], clearance: 'OFFICIAL-SENSITIVE', password: PASSWORD,
  });
  return user;
}

/** A minimal browser-like client: keeps cookies, does not follow redirects, reads CSRF tokens. */
export class FormClient {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  async request(method: string, url: string, init: { form?: Record<string, string>; headers?: Record<string, string>; body?: RequestInit['body'] } = {}) {
    const headers: Record<string, string> = { ...init.headers, cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
    let body = init.body;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(new URL(url, this.base), { method, headers, body, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, ...rest] = pair!.split('=');
      const value = rest.join('=');
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value);
    }
    return { status: response.status, location: response.headers.get('location'), text: await response.text(), headers: response.headers };
  }

  get(url: string) {
    return this.request('GET', url);
  }

  /** A link followed on this site's own page: a browser says so (Sec-Fetch-Site: same-origin). */
  click(url: string) {
    return this.request('GET', url, { headers: { 'sec-fetch-site': 'same-origin' } });
  }

  post(url: string, form: Record<string, string>) {
    return this.request('POST', url, { form });
  }

  static csrf(html: string): string {
    const match = /name="_csrf" value="([^"]+)"/.exec(html);
    if (!match) throw new Error('no CSRF token on the page');
    return match[1]!;
  }

  /** Signs in with password (and TOTP when a secret is given, its code for `now`: the server's clock); returns the home page HTML. */
  async signIn(email: string, password = PASSWORD, secret?: string, now = Date.now()): Promise<string> {
    const page = await this.get('/sign-in');
    const res = await this.post('/sign-in', { _csrf: FormClient.csrf(page.text), email, password, next: '/' });
    if (res.status !== 303) throw new Error(`sign-in answered ${res.status}: ${res.text.slice(0, 500)}`);
    if (res.location?.startsWith('/sign-in/code')) {
      const codePage = await this.get(res.location);
      const done = await this.post('/sign-in/code', { _csrf: FormClient.csrf(codePage.text), code: totp(secret!, 0, now), next: '/' });
      if (done.status !== 303) throw new Error(`code answered ${done.status}`);
    }
    return (await this.get('/')).text;
  }
}
