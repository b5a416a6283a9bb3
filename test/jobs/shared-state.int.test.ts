// State two processes over one database must share: the audit checkpoint's event count is the
// database's (events sequenced past the newest checkpoint by any process), not each process's own.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvent } from '../../src/services/audit-events.js';
import { systemActor } from '../../src/services/identity.service.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { DIALECTS, openTestVault, type TestVault } from '../support/vault.js';

describe.each(DIALECTS)('state shared by two processes on %s', (dialect) => {
  let dataDir: string;
  let database: TestDatabase | null = null;
  let one: TestVault;
  let two: TestVault;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'sr-shared-'));
    database = dialect === 'postgres' ? await createTestDatabase('srshared') : null;
    // Checkpoints every 10 events; the time limit is out of the way after each process's first check.
    const env = {
      STRONGROOM_AUDIT_CHECKPOINT_EVENTS: '10', STRONGROOM_AUDIT_CHECKPOINT_SECONDS: '86400',
      ...(database ? { STRONGROOM_DATABASE_URL: database.url } : {}),
    };
    one = await openTestVault({ dialect: 'sqlite', clamdSocket: '/nonexistent/clamd.sock', dataDir, env });
    two = await openTestVault({ dialect: 'sqlite', clamdSocket: '/nonexistent/clamd.sock', dataDir, env });
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const record = async (vault: TestVault['vault'], n: number) => {
    for (let i = 0; i < n; i++) {
      await vault.store.repos.audit.insert([auditEvent(systemActor(), 'test.event', { organisationId: null, ids: { i: String(i) } }, { allow: true, reason: 'test', via: null }, new Date())]);
    }
  };
  const newest = async () => (await one.vault.store.repos.audit.latestCheckpoint())?.treeSize ?? 0;

  it('signs a checkpoint when the events both processes sequenced reach the limit together', async () => {
    // Each process's first check is due by time; afterwards only the event count can make one due.
    await record(one.vault, 1);
    await one.vault.audit.sequencer.integrate();
    await two.vault.audit.sequencer.integrate();
    const base = await newest();
    expect(base).toBe(await one.vault.store.repos.audit.treeSize());

    await record(one.vault, 6);
    await one.vault.audit.sequencer.integrate();
    expect(await newest()).toBe(base);
    await record(two.vault, 6);
    await two.vault.audit.sequencer.integrate();
    // 12 unsigned events, though neither process sequenced 10 itself.
    expect(await newest()).toBe(base + 12);
  });
});
