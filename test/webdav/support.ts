// WebDAV test harness: a listening vault, organisations with people holding app passwords, and a tiny client.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, vi } from 'vitest';
import type { Vault } from '../../src/main.js';
import { systemActor } from '../../src/services/identity.service.js';
import { createOrganisation, openTestVault, type Dialect, type TestOrganisation, type TestUser, type TestVault } from '../support/vault.js';

export interface DavUser extends TestUser {
  appPassword: string;
  basic: string;
}

export interface DavServer extends TestVault {
  base: string;
  port: number;
}

export async function openDavServer(dialect: Dialect, clamdSocket: string): Promise<DavServer> {
  const t = await openTestVault({ dialect, clamdSocket, listen: true });
  const port = (t.app.server.address() as AddressInfo).port;
  return Object.assign(t, { base: `http://127.0.0.1:${port}`, port });
}

/**
 * A listening vault on `dialect`, opened before the enclosing describe's tests and closed after them (mocks
 * restored first). The returned object stands for it, as useTestVault's does.
 */
export function useDavServer(dialect: Dialect, clamd: { readonly socketPath: string }): DavServer {
  let opened: DavServer | undefined;
  beforeAll(async () => {
    opened = await openDavServer(dialect, clamd.socketPath);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await opened?.close();
  });
  const server = (): DavServer => {
    if (!opened) throw new Error('the server is opened in beforeAll: use it inside a hook or a test');
    return opened;
  };
  return {
    dialect,
    get vault() { return server().vault; },
    get app() { return server().app; },
    get dataDir() { return server().dataDir; },
    get base() { return server().base; },
    get port() { return server().port; },
    close: () => server().close(),
  };
}

export async function davUser(vault: Vault, org: TestOrganisation, spec: Parameters<TestOrganisation['user']>[0]): Promise<DavUser> {
  const user = await org.user(spec);
  const { secret } = await vault.credentials.createCredential(systemActor(), user.id, 'app_password', 'webdav test');
  return { ...user, appPassword: secret, basic: `Basic ${Buffer.from(`${user.email}:${secret}`).toString('base64')}` };
}

export { createOrganisation };

export interface DavResponse {
  status: number;
  headers: Headers;
  body: string;
}

/** One request with fetch; `user` adds Basic authentication. */
export async function dav(base: string, method: string, path: string, options: { user?: DavUser; headers?: Record<string, string>; body?: string | Buffer | Uint8Array } = {}): Promise<DavResponse> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(options.user ? { authorization: options.user.basic } : {}), ...(options.headers ?? {}) },
    ...(options.body !== undefined ? { body: options.body as unknown as string } : {}),
  });
  const body = method === 'HEAD' ? '' : await res.text();
  return { status: res.status, headers: res.headers, body };
}

export const PROPFIND_ALL = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>';
