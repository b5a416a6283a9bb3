// A real OpenID provider for the tests: the certified `oidc-provider` package on 127.0.0.1 with its own
// development login page (any login name, any password: the name is the account), behind a small proxy
// that can rewrite the ID token in the token endpoint's answer (re-signed with the provider's own key, or
// with a stranger's) so the hostile cases are each one rewrite.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, type JWTPayload } from 'jose';
import Provider from 'oidc-provider';

export interface TestAccount {
  email?: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
}

export interface TestOpenIdProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Accounts by login name; an unknown name signs in with only a `sub`. */
  accounts: Map<string, TestAccount>;
  /** When set, the token endpoint's ID token is replaced by what this returns (then reset to null). */
  rewrite: ((idToken: string, sign: (claims: JWTPayload, options?: { stranger?: boolean }) => Promise<string>) => Promise<string>) | null;
  /** Every ID token the token endpoint issued, as sent (before any rewrite). */
  issued: string[];
  close(): Promise<void>;
}

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

export async function startOpenIdProvider(strongroomBase: string): Promise<TestOpenIdProvider> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const stranger = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };

  const front = createServer();
  const port = await listen(front);
  const issuer = `http://127.0.0.1:${port}`;
  const accounts = new Map<string, TestAccount>();
  const clientId = 'strongroom-test';
  const clientSecret = 'a-client-secret-that-must-never-be-stored-in-clear';

  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId, client_secret: clientSecret, redirect_uris: [`${strongroomBase}/sign-in/oidc/callback`],
      post_logout_redirect_uris: [`${strongroomBase}/sign-in?signed-out`], grant_types: ['authorization_code'], response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: ['test-provider-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    // The claims in the ID token itself (Entra ID does the same for email, name and groups).
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    async findAccount(_ctx, id) {
      return { accountId: id, async claims() { return { sub: id, ...accounts.get(id) }; } };
    },
    // No consent screen: the organisation's own application, consented for everyone.
    async loadExistingGrant(ctx) {
      const existing = ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (existing) return ctx.oidc.provider.Grant.find(existing);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid email profile');
      grant.addOIDCClaims(['email', 'email_verified', 'name', 'groups']);
      await grant.save();
      return grant;
    },
  });
  const back = createServer(provider.callback());
  const backPort = await listen(back);

  const handle: TestOpenIdProvider = {
    issuer, clientId, clientSecret, accounts, rewrite: null, issued: [],
    async close() {
      await new Promise((resolve) => front.close(resolve));
      await new Promise((resolve) => back.close(resolve));
    },
  };

  const sign = async (claims: JWTPayload, options: { stranger?: boolean } = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'test-key' }).sign(options.stranger ? stranger.privateKey : privateKey);

  // The proxy: everything passes through with its Host header (the provider builds its addresses from
  // it); the token endpoint's answer is read, recorded and, when asked, rewritten.
  front.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const upstream = httpRequest({ host: '127.0.0.1', port: backPort, method: req.method, path: req.url, headers: req.headers }, async (answer) => {
      if (req.url?.startsWith('/token') && answer.statusCode === 200) {
        const chunks: Buffer[] = [];
        for await (const chunk of answer) chunks.push(chunk as Buffer);
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id_token?: string };
        if (body.id_token) {
          handle.issued.push(body.id_token);
          const rewrite = handle.rewrite;
          handle.rewrite = null;
          if (rewrite) body.id_token = await rewrite(body.id_token, sign);
        }
        const text = JSON.stringify(body);
        const headers = { ...answer.headers, 'content-length': String(Buffer.byteLength(text)) };
        res.writeHead(200, headers).end(text);
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  return handle;
}

export { decodeJwt };

/** A browser without a screen: cookies per host and port, redirects followed by hand. */
export class CookieBrowser {
  readonly jars = new Map<string, Map<string, string>>();

  /**
   * One request. `site` is the Sec-Fetch-Site a browser would send: 'none' for an address the test goes to
   * itself (typed or bookmarked), as a browser sends; a redirect followed says where it came from.
   */
  async request(method: string, url: string, form?: Record<string, string>, site: 'none' | 'same-origin' | 'cross-site' = 'none'): Promise<{ status: number; location: string | null; text: string; url: string }> {
    const target = new URL(url);
    const jar = this.jars.get(target.host) ?? new Map<string, string>();
    this.jars.set(target.host, jar);
    const headers: Record<string, string> = { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '), 'sec-fetch-site': site };
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(target, { method, headers, body: form ? new URLSearchParams(form).toString() : undefined, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1);
      if (/expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    const location = response.headers.get('location');
    return { status: response.status, location: location ? new URL(location, target).href : null, text: await response.text(), url: target.href };
  }

  /** Follows redirects from `url` until one leads to a path `stopAt` matches (returned, not requested), or a page. */
  async follow(url: string, stopAt?: RegExp): Promise<{ status: number; location: string | null; text: string; url: string }> {
    let response = await this.request('GET', url);
    let site: 'none' | 'same-origin' | 'cross-site' = 'none';
    for (let hops = 0; response.location && hops < 20; hops++) {
      if (stopAt && stopAt.test(new URL(response.location).pathname)) return response;
      // A redirect chain that ever left the origin it started at is cross-site from then on.
      if (new URL(response.location).origin !== new URL(url).origin || site === 'cross-site') site = 'cross-site';
      else site = 'same-origin';
      response = await this.request('GET', response.location, undefined, site);
    }
    return response;
  }

  /**
   * From Strongroom's "Sign in with …" link to the provider's login page, signs in there as `login`, and
   * stops at the redirect back to Strongroom's callback: returns the callback address, not yet visited.
   */
  async signInAtProvider(startUrl: string, login: string): Promise<string> {
    const page = await this.follow(startUrl);
    const action = /<form[^>]*action="([^"]+)"/.exec(page.text)?.[1];
    if (!action) throw new Error(`no login form at ${page.url} (${page.status}): ${page.text.slice(0, 300)}`);
    const submitted = await this.request('POST', new URL(action, page.url).href, { prompt: 'login', login, password: 'any' });
    let response = submitted;
    for (let hops = 0; response.location && hops < 10; hops++) {
      if (new URL(response.location).pathname === '/sign-in/oidc/callback') return response.location;
      response = await this.request('GET', response.location);
    }
    throw new Error(`the provider did not send the browser back: ${response.status} ${response.text.slice(0, 300)}`);
  }
}
