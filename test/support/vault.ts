// Test harness: a real vault (SQLite file or a fresh PostgreSQL database, real clamd, real blob
// folder) with the HTTP app on it, and factories that create unique organisations and people.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { generateSecret } from 'otplib';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import type { SyncFile } from '../../src/db/group-commit.js';
import { mfaRequired } from '../../src/domain/identity/mfa.js';
import type { Clock } from '../../src/domain/ports.js';
import type { Arrangement, Classification } from '../../src/domain/types.js';
import { buildApp } from '../../src/http/app.js';
import { serverExtensions } from '../../src/server.js';
import { openVault, type OpenVaultOptions, type Vault } from '../../src/main.js';
import { systemActor } from '../../src/services/identity.service.js';
import { auditEvent } from '../../src/services/audit-events.js';
import { mfaIds } from '../../src/services/person-state.js';
import { createMigratedDatabase } from './postgres.js';
import { TEST_PASSWORD_HASHING } from './password-hashing.js';

export type Dialect = 'sqlite' | 'postgres';
export const DIALECTS: Dialect[] = ['sqlite', 'postgres'];
export const TEST_PASSWORD = 'test-passphrase-for-vault';

export interface TestVault {
  vault: Vault;
  app: FastifyInstance;
  dataDir: string;
  dialect: Dialect;
  close(): Promise<void>;
}

export interface RestartableTestVault extends TestVault {
  /**
   * Stops this vault (its app, worker and database connections) as a process exit would, and opens a new one on
   * the same data directory and database: a node restarted. Close the one returned, not this one.
   */
  restarted(): Promise<RestartableTestVault>;
}

/**
 * `dataDir`: use this existing directory (e.g. a small filesystem the test mounted) instead of a
 * fresh temporary one; the caller owns it, and close() leaves it in place. `syncDatabaseLog`: how the
 * SQLite write-ahead log is synced (a test holds it back to see what waits for it).
 */
export async function openTestVault(options: { dialect: Dialect; clamdSocket: string; env?: Record<string, string>; listen?: boolean; dataDir?: string; clock?: Clock; syncDatabaseLog?: SyncFile; searchReadGate?: Int32Array; snapshotGate?: Int32Array;
  passwordHasherBeneathGate?: OpenVaultOptions['passwordHasherBeneathGate'];
  samlProtocol?: OpenVaultOptions['samlProtocol'];
}): Promise<RestartableTestVault> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'sr-vault-')));
  const database = options.dialect === 'postgres' ? await createMigratedDatabase('srt') : null;
  const config = loadConfig({
    env: {
      STRONGROOM_DATA: dataDir,
      STRONGROOM_CLAMD: options.clamdSocket,
      STRONGROOM_LOG_LEVEL: 'silent',
      STRONGROOM_AUDIT_CHECKPOINT_SECONDS: '1',
      ...TEST_PASSWORD_HASHING,
      ...(database ? { STRONGROOM_DATABASE_URL: database.url } : {}),
      ...options.env,
    },
  });
  const started = async (): Promise<RestartableTestVault> => {
    const vault = await openVault(config, {
      create: true, logger: pino({ level: process.env.STRONGROOM_TEST_LOG ?? 'silent' }), ...(options.clock ? { clock: options.clock } : {}), ...(options.syncDatabaseLog ? { syncDatabaseLog: options.syncDatabaseLog } : {}),
      ...(options.searchReadGate ? { searchReadGate: options.searchReadGate } : {}),
      ...(options.snapshotGate ? { snapshotGate: options.snapshotGate } : {}),
      ...(options.passwordHasherBeneathGate ? { passwordHasherBeneathGate: options.passwordHasherBeneathGate } : {}),
      ...(options.samlProtocol ? { samlProtocol: options.samlProtocol } : {}),
    });
    const app = await buildApp(vault, { extensions: serverExtensions });
    if (options.listen) await app.listen({ host: '127.0.0.1', port: 0 });
    const stop = async () => {
      await app.close();
      await vault.close();
    };
    return {
      vault, app, dataDir, dialect: options.dialect,
      async restarted() {
        await stop();
        return started();
      },
      async close() {
        await stop();
        await database?.drop();
        if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
        await rm(config.offsiteDir, { recursive: true, force: true });
      },
    };
  };
  return started();
}

export interface TestUser {
  id: string;
  email: string;
  token: string;
  organisationId: string;
}

export interface TestOrganisation {
  id: string;
  slug: string;
  collections: Record<string, string>;
  user(spec: { roles?: string[]; teams?: string[]; clearance?: Classification }): Promise<TestUser>;
}

/** A fresh organisation with one collection per given service area (OFFICIAL-SENSITIVE unless stated). */
export async function createOrganisation(vault: Vault, options: { region?: string; areas?: Record<string, Classification> } = {}): Promise<TestOrganisation> {
  const slug = `org-${randomUUID().slice(0, 8)}`;
  const org = await vault.organisations.addOrganisation(systemActor(), { slug, name: `Test ${slug}`, region: options.region ?? 'Test Region' });
  const collections: Record<string, string> = {};
  for (const [area, classification] of Object.entries(options.areas ?? { payroll: 'OFFICIAL-SENSITIVE', hr: 'OFFICIAL-SENSITIVE', finance: 'OFFICIAL' })) {
    collections[area] = (await vault.collectionCreation.create(systemActor(), { organisationId: org.id, name: area, serviceArea: area, classification })).id;
  }
  return {
    id: org.id, slug, collections,
    async user(spec) {
      const email = `${randomUUID().slice(0, 8)}@${slug}.test`;
      const { user } = await vault.userCreation.addUser(systemActor(), {
        organisationSlug: slug, email, name: 'Test User', roles: spec.roles ?? ['member'], teams: spec.teams ?? [],
        clearance: spec.clearance ?? 'OFFICIAL-SENSITIVE', password: TEST_PASSWORD,
      });
      // People whose roles need a second factor can use tokens only once it is set up.
      if (mfaRequired(user.roles)) await setUpMfa(vault, user, generateSecret());
      const { secret } = await vault.credentials.createCredential(systemActor(), user.id, 'api_token', 'test');
      // The fixture's own token is nobody's news: its security notice (services/account-notices.ts) is dropped
      // unsent, so a test counts only the mail it causes. The new person has no other mail queued.
      await vault.store.db.deleteFrom('jobs').where('kind', '=', 'send-email').where('status', '=', 'queued').where('payload', 'like', `%${user.id}%`).execute();
      return { id: user.id, email, token: secret, organisationId: org.id };
    },
  };
}

/**
 * Turns MFA on with `secret`, as if the person had set it up, recording the `auth.mfa-enrol` event (with its
 * binding) that set-up records, so `audit verify` finds the person's MFA state as their latest event left it.
 */
export async function setUpMfa(vault: Vault, user: { id: string; organisationId: string }, secret: string, recoveryCodeHashes: string[] = []): Promise<void> {
  await vault.store.transaction(async (repos) => {
    // Through the repository, as set-up writes it (sealed, the secret encrypted), replacing any authenticator
    // already set up as an admin's reset does, recorded: set-up while MFA is on is what verify names as a row
    // put back to an earlier state (person-secrets-record.ts `replayedSignInSecret`).
    if ((await repos.users.byId(user.id))?.mfaEnabled) {
      await repos.users.resetMfa(user.id);
      await repos.audit.insert([auditEvent(systemActor(), 'user.mfa-reset', { organisationId: user.organisationId, ids: { userId: user.id, ...mfaIds(user.id, false, null) } },
        { allow: true, reason: 'test', via: null }, vault.clock.now())]);
    }
    await repos.users.enableMfa(user.id, secret, JSON.stringify(recoveryCodeHashes));
    await repos.audit.insert([auditEvent(systemActor(), 'auth.mfa-enrol', { organisationId: user.organisationId, ids: { userId: user.id, ...mfaIds(user.id, true, secret) } },
      { allow: true, reason: 'test', via: null }, vault.clock.now())]);
  });
}

export const auth = (user: { token: string }) => ({ authorization: `Bearer ${user.token}` });

/** Uploads bytes through the REST API as `user`. */
export async function upload(app: FastifyInstance, user: TestUser, collectionId: string, name: string, body: Buffer | string) {
  return app.inject({ method: 'POST', url: `/api/v1/collections/${collectionId}/documents?name=${encodeURIComponent(name)}`, headers: { ...auth(user), 'content-type': 'application/octet-stream' }, payload: body });
}

/**
 * Two councils and an active arrangement between them: the host's `serviceArea` team serves the
 * partner at `accessLevel`, up to `ceiling`. Both get the usual collections (or `areas`).
 */
export async function createPartnership(vault: Vault, terms: {
  accessLevel: 'read' | 'contribute' | 'manage';
  ceiling: Classification;
  serviceArea?: string;
  areas?: Record<string, Classification>;
}): Promise<{ host: TestOrganisation; partner: TestOrganisation; arrangement: Arrangement }> {
  const areas = terms.areas ? { areas: terms.areas } : {};
  const host = await createOrganisation(vault, areas);
  const partner = await createOrganisation(vault, areas);
  const serviceArea = terms.serviceArea ?? 'payroll';
  const arrangement = await vault.arrangements.propose(systemActor(), {
    hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea, purpose: `Shared ${serviceArea}`,
    lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: terms.accessLevel, ceiling: terms.ceiling,
  }, { approve: true });
  return { host, partner, arrangement };
}

/** The real time, unless a test sets an instant (until it sets null): for a suite that shares one vault. */
export function realClockUnless(): Clock & { set(instant: string | null): void } {
  let fixed: Date | null = null;
  return { now: () => new Date(fixed ?? Date.now()), set: (instant: string | null) => { fixed = instant === null ? null : new Date(instant); } };
}

/** A clock a test sets (UTC instants), for dates that retention counts from. */
export function settableClock(start: string): Clock & { set(instant: string): void } {
  let now = new Date(start);
  return { now: () => new Date(now), set: (instant: string) => { now = new Date(instant); } };
}
