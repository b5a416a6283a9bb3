// Security notices in a burst decided by two nodes at the same moment (services/notice-windows.ts): each node's
// worker leases its own send-email jobs for one person and decides them in parallel, each in a transaction of its
// own on one PostgreSQL database. The person's row, locked while a notice is decided, is what keeps the window's
// count true across nodes; without it both nodes saw room for more and sent every notice singly. PostgreSQL only:
// SQLite has one writer, so two nodes' decisions cannot overlap there (its one-node bursts are in
// account-notice-limits.int.test.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { TestSmtp } from '../support/smtp.js';
import { createOrganisation, openTestVault, realClockUnless, type TestVault } from '../support/vault.js';

const clamd = useClamd();
const WINDOW_MS = 15 * 60_000;
const BURST = 8;

describe('security notices decided by two nodes at once on postgres', () => {
  const clock = realClockUnless();
  let smtp: TestSmtp;
  let dataDir: string;
  let database: TestDatabase;
  let one: TestVault;
  let two: TestVault;
  beforeAll(async () => {
    smtp = await TestSmtp.started();
    dataDir = await mkdtemp(path.join(tmpdir(), 'sr-notice-nodes-'));
    database = await createTestDatabase('srnotice');
    const env = {
      STRONGROOM_DATABASE_URL: database.url,
      STRONGROOM_SMTP_URL: smtp.url, STRONGROOM_MAIL_FROM: 'Records vault <no-reply@vault.test>', STRONGROOM_PUBLIC_URL: 'https://vault.test',
    };
    // Two processes' worth of vault on one database and one data directory (its master key), as two nodes are.
    one = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, dataDir, env, clock });
    two = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, dataDir, env, clock });
  });
  afterAll(async () => {
    clock.set(null);
    await one?.close();
    await two?.close();
    await database?.drop();
    await smtp?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it(`sends 3 of ${BURST} notices singly and summarises the other ${BURST - 3} once, though each node decided half of them at the same time`, async () => {
    const org = await createOrganisation(one.vault);
    const person = await org.user({});
    const start = Date.now();
    for (let i = 0; i < BURST; i += 1) {
      clock.set(new Date(start + i * 1000).toISOString());
      await one.vault.credentials.createCredential(systemActor(), person.id, 'api_token', `script ${i}`);
    }

    clock.set(new Date(start + 10_000).toISOString());
    // Each worker leases up to four jobs at a time: both nodes take their share and decide it meanwhile.
    const taken = await Promise.all([one.vault.worker.runDue(), two.vault.worker.runDue()]);
    expect(taken.every((ran) => ran > 0)).toBe(true);
    const singly = () => smtp.to(person.email).filter((m) => String(m.text).includes("Your account's sign-in changed\n"));
    const summaries = () => smtp.to(person.email).filter((m) => String(m.text).includes("Your account's sign-in changed several times"));
    expect(singly()).toHaveLength(3);
    expect(summaries()).toHaveLength(0);

    clock.set(new Date(start + 10_000 + WINDOW_MS).toISOString());
    await Promise.all([one.vault.worker.runDue(), two.vault.worker.runDue()]);
    expect(singly()).toHaveLength(3);
    expect(summaries()).toHaveLength(1);
    expect(summaries()[0]!.subject).toBe(`${BURST - 3} more changes were made to your Strongroom account's sign-in`);
  });
});
