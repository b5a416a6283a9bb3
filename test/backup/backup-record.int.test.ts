// The last scheduled backup, as /metrics (strongroom_backup_last_success_timestamp_seconds) and the
// Storage page report it, is read from the database: a database administrator must not be able to
// write a fresh time there and so hide that backups have stopped.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { openVault, type Vault } from '../../src/main.js';
import { systemActor } from '../../src/services/identity.service.js';

describe('the recorded last backup', () => {
  let work: string;
  let vault: Vault;
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'sr-backup-record-'));
    const config = loadConfig({ env: {
      STRONGROOM_CLAMD: path.join(work, 'no-clamd.sock'), STRONGROOM_LOG_LEVEL: 'silent', STRONGROOM_OFFSITE: path.join(work, 'offsite'),
      STRONGROOM_REPLICA: path.join(work, 'replica'), STRONGROOM_DATA: path.join(work, 'data'),
    } });
    vault = await openVault(config, { create: true, logger: pino({ level: 'silent' }), startClamd: false });
  });
  afterAll(async () => {
    await vault?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('is believed only as the vault recorded it: a row written or edited in the database reads as no backup', async () => {
    const real = { id: 'b1', at: '2026-11-30T02:15:00.000Z', location: '/mnt/offsite/backups/20261130T021500Z' };
    await vault.backups.recordScheduled('2026-11-30', real);
    expect(await vault.backups.last()).toEqual(real);

    const settings = vault.store.repos.settings;
    const stored = JSON.parse((await settings.get('backup.last'))!) as Record<string, string>;
    // The time moved on, the rest (and any seal) kept.
    await settings.set('backup.last', JSON.stringify({ ...stored, at: '2026-12-09T02:15:00.000Z' }));
    expect(await vault.backups.last()).toBeNull();
    // A row of the administrator's own.
    await settings.set('backup.last', JSON.stringify({ id: 'b9', at: '2026-12-09T02:15:00.000Z', location: '/mnt/offsite/backups/20261209T021500Z' }));
    expect(await vault.backups.last()).toBeNull();
    expect(await vault.backups.lastFor(systemActor())).toBeNull();

    // Put back as it was: believed again.
    await settings.set('backup.last', JSON.stringify(stored));
    expect(await vault.backups.last()).toEqual(real);
  });
});
