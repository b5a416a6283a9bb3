// Identity test harness: a vault that can be closed and opened again on the same data directory
// and database (state that must survive a restart), and sign-in over HTTP from a chosen address.
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import type { IdentityProvider } from '../../src/domain/identity/federation.js';
import { buildApp } from '../../src/http/app.js';
import { serverExtensions } from '../../src/server.js';
import { openVault, type Vault } from '../../src/main.js';
import { createMigratedDatabase, type TestDatabase } from '../support/postgres.js';
import { TEST_PASSWORD_HASHING } from '../support/password-hashing.js';
import type { Dialect } from '../support/vault.js';
import { removeDataDir } from '../support/vault-dir.js';

export interface ReopenableVault {
  vault: Vault;
  app: FastifyInstance;
  /** Closes the vault and opens a new one (new process state) on the same data and database. */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

export async function openReopenableVault(options: { dialect: Dialect; clamdSocket: string; env?: Record<string, string> }): Promise<ReopenableVault> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sr-identity-'));
  const database: TestDatabase | null = options.dialect === 'postgres' ? await createMigratedDatabase('sri') : null;
  const config = loadConfig({
    env: {
      STRONGROOM_DATA: dataDir, STRONGROOM_CLAMD: options.clamdSocket, STRONGROOM_LOG_LEVEL: 'silent', ...TEST_PASSWORD_HASHING,
      ...(database ? { STRONGROOM_DATABASE_URL: database.url } : {}), ...options.env,
    },
  });
  const open = async () => {
    const vault = await openVault(config, { create: true, logger: pino({ level: 'silent' }) });
    return { vault, app: await buildApp(vault, { extensions: serverExtensions }) };
  };
  const handle = { ...(await open()) } as ReopenableVault;
  handle.reopen = async () => {
    await handle.app.close();
    await handle.vault.close();
    Object.assign(handle, await open());
  };
  handle.close = async () => {
    await handle.app.close();
    await handle.vault.close();
    await database?.drop();
    await removeDataDir(dataDir);
  };
  return handle;
}

const CSRF = 'c'.repeat(32);
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** POST /sign-in from `address`, as a browser with the double-submit CSRF cookie would. */
export function postSignIn(app: FastifyInstance, address: string, email: string, password: string): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST', url: '/sign-in', remoteAddress: address, headers: FORM, cookies: { 'strongroom-csrf': CSRF },
    payload: new URLSearchParams({ _csrf: CSRF, email, password, next: '/' }).toString(),
  });
}

/** Password, then the second-factor code, from `address`; returns the code step's response. */
export async function signInWithCode(app: FastifyInstance, address: string, email: string, password: string, code: string): Promise<LightMyRequestResponse> {
  const first = await postSignIn(app, address, email, password);
  if (first.statusCode !== 303 || !first.headers.location?.startsWith('/sign-in/code')) throw new Error(`password step answered ${first.statusCode} → ${first.headers.location}`);
  const session = first.cookies.find((c) => c.name === 'strongroom-session')!.value;
  const page = await app.inject({ method: 'GET', url: '/sign-in/code', remoteAddress: address, cookies: { 'strongroom-session': session } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  return app.inject({
    method: 'POST', url: '/sign-in/code', remoteAddress: address, headers: FORM, cookies: { 'strongroom-session': session },
    payload: new URLSearchParams({ _csrf: csrf, code, next: '/' }).toString(),
  });
}

/** An enabled OIDC provider of the organisation that makes accounts just in time, stored as the admin pages store one. */
export async function insertJustInTimeProvider(vault: Vault, organisationId: string): Promise<IdentityProvider> {
  const now = new Date().toISOString();
  const provider: IdentityProvider = {
    id: randomUUID(), organisationId, kind: 'oidc', name: 'Entra ID', enabled: true,
    oidc: { issuer: 'https://login.example.test/v2.0', clientId: 'c', scopes: ['openid', 'email'] }, saml: null,
    createAccounts: true, groupsClaim: null, mfaAmrValues: ['mfa'], mfaAcrValues: [], createdAt: now, updatedAt: now,
  };
  await vault.store.repos.federation.insertProvider(provider, null);
  return provider;
}

/** A SCIM request with the directory's bearer token (read when the request is made), JSON body as SCIM sends it. */
export const scimRequester = (app: () => FastifyInstance, token: () => string) =>
  (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<LightMyRequestResponse> => app().inject({
    method, url: `/scim/v2${url}`,
    headers: { authorization: `Bearer ${token()}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
