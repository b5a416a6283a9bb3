// Upload limits are the cluster's, not each process's: two processes (two vaults) over one database
// share every limit. A slot held in one process refuses the upload in the other (429, Retry-After)
// until it is released; a crashed process's slot stops counting when its lease ends; and uploads
// racing through several real processes at once are never admitted past a limit.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, openSqlite, type DatabaseHandle } from '../../src/db/kysely.js';
import { migrate } from '../../src/db/migrate.js';
import { DomainError } from '../../src/domain/errors.js';
import type { Actor } from '../../src/domain/types.js';
import { ROOT } from '../support/cli.js';
import { createMigratedDatabase, createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { DIALECTS, createOrganisation, upload, type TestOrganisation, type TestUser, type TestVault, openTestVault } from '../support/vault.js';

const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const RACER = path.join(ROOT, 'test', 'support', 'upload-racer.ts');
const PER_ACCOUNT = 2;
const PER_ORGANISATION = 3;

describe.each(DIALECTS)('upload limits shared by two processes on %s', (dialect) => {
  let dataDir: string;
  let database: TestDatabase | null = null;
  let one: TestVault;
  let two: TestVault;
  let org: TestOrganisation;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'sr-slots-'));
    database = dialect === 'postgres' ? await createTestDatabase('srslots') : null;
    const env = {
      STRONGROOM_UPLOADS_PER_ACCOUNT: String(PER_ACCOUNT), STRONGROOM_UPLOADS_PER_ORGANISATION: String(PER_ORGANISATION),
      ...(database ? { STRONGROOM_DATABASE_URL: database.url } : {}),
    };
    // Same data directory (the SQLite file, or the keys beside a PostgreSQL database): one deployment, two processes.
    one = await openTestVault({ dialect: 'sqlite', clamdSocket: '/nonexistent/clamd.sock', dataDir, env });
    two = await openTestVault({ dialect: 'sqlite', clamdSocket: '/nonexistent/clamd.sock', dataDir, env });
    org = await createOrganisation(one.vault);
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const actor = (user: TestUser, clientAddress = '198.51.100.7'): Actor => ({
    kind: 'user', userId: user.id, organisationId: user.organisationId, roles: ['member'], teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE',
    channel: 'api', clientAddress, requestId: null,
  });
  const refused = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  };
  const liveFor = async (accountId: string) => (await one.vault.store.repos.uploadSlots.live(new Date().toISOString())).filter((s) => s.accountId === accountId);

  it('refuses an upload in one process while the account’s slots are held in the other, and admits it once one is released', async () => {
    const user = await org.user({ teams: ['payroll'] });
    const held = [await one.vault.admission.admit(actor(user), org.id), await one.vault.admission.admit(actor(user), org.id)];
    expect((await liveFor(user.id)).map((s) => s.holder)).toEqual([one.vault.admission.holder, one.vault.admission.holder]);

    const res = await upload(two.app, user, org.collections.payroll!, `refused-${randomUUID()}.txt`, 'hello\n');
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toMatchObject({ status: 429, limit: 'account', detail: `You already have ${PER_ACCOUNT} uploads in progress. Wait for one of them to finish, then try again.` });
    expect(await liveFor(user.id)).toHaveLength(PER_ACCOUNT);

    await held[0]!.release();
    const admitted = await upload(two.app, user, org.collections.payroll!, `admitted-${randomUUID()}.txt`, 'hello\n');
    expect(admitted.statusCode, admitted.body).toBe(201);
    // The upload's own slot was given back when its body was done; the other process's is still held.
    expect((await liveFor(user.id)).map((s) => s.holder)).toEqual([one.vault.admission.holder]);
    await held[1]!.release();
    expect(await liveFor(user.id)).toEqual([]);
  });

  it('does not count the slots of a process that crashed once their lease has ended', async () => {
    const user = await org.user({ teams: ['payroll'] });
    const now = Date.now();
    // What a process that died mid-upload leaves: its slots, no longer renewed, their lease over.
    for (let i = 0; i < PER_ACCOUNT; i++) {
      await one.vault.store.repos.uploadSlots.insert({
        id: randomUUID(), holder: 'crashed-process', accountId: user.id, clientAddress: '198.51.100.7', organisationId: org.id,
        acquiredAt: new Date(now - 90_000).toISOString(), expiresAt: new Date(now - 30_000).toISOString(),
      });
    }
    // A slot of the same crashed process still inside its lease does count, until the lease ends.
    const live = randomUUID();
    await one.vault.store.repos.uploadSlots.insert({
      id: live, holder: 'crashed-process', accountId: user.id, clientAddress: '198.51.100.7', organisationId: org.id,
      acquiredAt: new Date(now - 10_000).toISOString(), expiresAt: new Date(now + 50_000).toISOString(),
    });
    const first = await two.vault.admission.admit(actor(user), org.id);
    expect((await refused(two.vault.admission.admit(actor(user), org.id))).details).toMatchObject({ limit: 'account' });
    await one.vault.store.repos.uploadSlots.delete(live);
    const second = await two.vault.admission.admit(actor(user), org.id);
    expect((await liveFor(user.id)).map((s) => s.holder)).toEqual([two.vault.admission.holder, two.vault.admission.holder]);
    await first.release();
    await second.release();
  });
});

/**
 * The race needs real processes: two vaults in one Node process cannot race on SQLite, where a
 * connection waiting for the write lock blocks the very event loop the holder needs to commit.
 */
describe.each(DIALECTS)('uploads racing through three processes on %s', (dialect) => {
  const limits = { perAccount: 3, perClient: 8, perOrganisation: 5, total: 64, retryAfterSeconds: 5 };
  let dir: string;
  let handle: DatabaseHandle;
  let database: TestDatabase | null = null;
  let racerEnv: Record<string, string>;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sr-race-'));
    if (dialect === 'postgres') {
      database = await createMigratedDatabase('srrace');
      handle = openPostgres(database.url, 2);
      racerEnv = { RACER_PG_URL: database.url };
    } else {
      const key = randomBytes(32);
      const file = path.join(dir, 'race.db');
      handle = openSqlite({ file, key });
      await migrate(handle.db, handle.caps);
      racerEnv = { RACER_SQLITE_FILE: file, RACER_SQLITE_KEY: key.toString('hex') };
    }
  });
  afterAll(async () => {
    await handle?.close();
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function race(groups: { userId: string; clientAddress: string }[][], organisationId: string) {
    const racers = groups.map((people) => startRacer({ ...racerEnv, RACER_LIMITS: JSON.stringify(limits), RACER_PEOPLE: JSON.stringify(people), RACER_ORGANISATION: organisationId }));
    try {
      await Promise.all(racers.map((r) => r.next()));
      for (const r of racers) r.send('go');
      const results = (await Promise.all(racers.map((r) => r.next()))).map((line) => JSON.parse(line) as { admitted: number; refused: string[]; failed: string[] });
      const live = await handle.db.selectFrom('upload_slots').select(['account_id', 'organisation_id', 'holder']).where('organisation_id', '=', organisationId).where('expires_at', '>', new Date().toISOString()).execute();
      return { results, live };
    } finally {
      for (const r of racers) r.send('release');
      await Promise.all(racers.map((r) => r.exited));
    }
  }

  it('admits exactly the account’s limit of 24 attempts made at once by one person through three processes', { timeout: 60_000 }, async () => {
    const person = { userId: `u-${randomUUID()}`, clientAddress: '198.51.100.9' };
    const { results, live } = await race([Array(8).fill(person), Array(8).fill(person), Array(8).fill(person)], `org-${randomUUID()}`);
    expect(results.flatMap((r) => r.failed)).toEqual([]);
    expect(results.reduce((n, r) => n + r.admitted, 0)).toBe(limits.perAccount);
    expect(results.flatMap((r) => r.refused)).toEqual(Array(24 - limits.perAccount).fill('account'));
    expect(live).toHaveLength(limits.perAccount);
    expect(new Set(live.map((s) => s.account_id))).toEqual(new Set([person.userId]));
  });

  it('admits exactly the organisation’s limit of 18 people uploading into it at once through three processes', { timeout: 60_000 }, async () => {
    const people = Array.from({ length: 18 }, (_, i) => ({ userId: `u-${randomUUID()}`, clientAddress: `203.0.113.${i}` }));
    const { results, live } = await race([people.slice(0, 6), people.slice(6, 12), people.slice(12)], `org-${randomUUID()}`);
    expect(results.flatMap((r) => r.failed)).toEqual([]);
    expect(results.reduce((n, r) => n + r.admitted, 0)).toBe(limits.perOrganisation);
    expect(results.flatMap((r) => r.refused)).toEqual(Array(18 - limits.perOrganisation).fill('organisation'));
    expect(live).toHaveLength(limits.perOrganisation);
  });
});

interface Racer {
  /** The racer's next line of output. */
  next(): Promise<string>;
  send(line: string): void;
  exited: Promise<void>;
}

function startRacer(env: Record<string, string>): Racer {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, RACER], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let stderr = '';
  let buffered = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  const exited = new Promise<void>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`racer exited with ${String(code)}: ${stderr}`)))));
  return {
    next: () => {
      const line = lines.shift();
      if (line !== undefined) return Promise.resolve(line);
      return Promise.race([new Promise<string>((resolve) => waiting.push(resolve)), exited.then(() => { throw new Error(`racer ended early: ${stderr}`); })]);
    },
    send: (line) => { if (child.stdin.writable) child.stdin.write(`${line}\n`); },
    exited,
  };
}
