// Someone who can write the replica's backups/ shelf but has neither the master key nor the audit
// key: folders they plant (a copy of an old backup under a newer name, or a "manifest" of their own)
// must not become restore's default --from, and must not make the daily pruning delete real backups.
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newestBackup, scheduledBackup } from '../../src/backup-schedule.js';
import { loadConfig } from '../../src/config/config.js';
import { openVault, type Vault } from '../../src/main.js';
import { settableClock } from '../support/vault.js';

const silent = pino({ level: 'silent' });

describe('planted folders on the backups shelf', () => {
  let work: string;
  let vault: Vault;
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'sr-shelf-attack-'));
  });
  afterAll(async () => {
    await vault?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('are never the newest backup, and pruning keeps the real ones', { timeout: 25_000 }, async () => {
    const replica = path.join(work, 'replica');
    const env = {
      STRONGROOM_CLAMD: path.join(work, 'no-clamd.sock'), STRONGROOM_LOG_LEVEL: 'silent', STRONGROOM_OFFSITE: path.join(work, 'offsite'),
      STRONGROOM_REPLICA: replica, STRONGROOM_BACKUP_KEEP: '2', STRONGROOM_DATA: path.join(work, 'data'),
    };
    const config = loadConfig({ env });
    const clock = settableClock('2026-11-30T02:15:00Z');
    vault = await openVault(config, { create: true, logger: silent, clock, startClamd: false });
    const shelf = path.join(replica, 'backups');

    expect(await scheduledBackup(vault, '2026-11-30')).toBe('taken');
    clock.set('2026-12-01T02:15:00Z');
    expect(await scheduledBackup(vault, '2026-12-01')).toBe('taken');

    // The attacker: the older real backup copied under a later name (a rollback restore would then
    // take), and two "complete" backups of their own, all named after any real one.
    await cp(path.join(shelf, '20261130T021500Z'), path.join(shelf, '20991231T000000Z'), { recursive: true });
    for (const name of ['20991230T000000Z', '20991229T000000Z']) {
      await mkdir(path.join(shelf, name));
      await writeFile(path.join(shelf, name, 'manifest.note'), 'not a manifest\n');
    }

    // restore and the drill default to the newest backup the vault made, by its signed time.
    expect(await newestBackup(config)).toBe(path.join(shelf, '20261201T021500Z'));

    // The next day's pruning keeps the two newest real backups (the one just taken among them),
    // removes the older real one and its copy, and leaves the folders it cannot open alone.
    clock.set('2026-12-02T02:15:00Z');
    expect(await scheduledBackup(vault, '2026-12-02')).toBe('taken');
    expect((await readdir(shelf)).sort()).toEqual(['20261201T021500Z', '20261202T021500Z', '20991229T000000Z', '20991230T000000Z']);
    expect(await newestBackup(config)).toBe(path.join(shelf, '20261202T021500Z'));
  });

  it('says so when no folder on the shelf is a backup of this vault', { timeout: 10_000 }, async () => {
    const replica = path.join(work, 'replica-only-fakes');
    const env = {
      STRONGROOM_CLAMD: path.join(work, 'no-clamd.sock'), STRONGROOM_LOG_LEVEL: 'silent', STRONGROOM_OFFSITE: path.join(work, 'offsite'),
      STRONGROOM_REPLICA: replica, STRONGROOM_DATA: path.join(work, 'data'),
    };
    const config = loadConfig({ env });
    await mkdir(path.join(replica, 'backups', '20991230T000000Z'), { recursive: true });
    await writeFile(path.join(replica, 'backups', '20991230T000000Z', 'manifest.note'), 'not a manifest\n');
    // A manifest far larger than any real one is refused, not read into memory.
    await mkdir(path.join(replica, 'backups', '20991231T000000Z'), { recursive: true });
    await writeFile(path.join(replica, 'backups', '20991231T000000Z', 'manifest.note'), Buffer.alloc(2 * 1024 * 1024, 0x41));
    const huge = path.join(replica, 'backups', '20991231T000000Z', 'manifest.note');
    await expect(newestBackup(config)).rejects.toThrow(
      `No --from given, and there is no complete backup of this vault in ${path.join(replica, 'backups')} (STRONGROOM_REPLICA): give the backup with --from.`
      + ` Skipped 20991231T000000Z: ${huge} is larger than 1048576 bytes: it is not a file a Strongroom backup writes.`
      + ` Skipped 20991230T000000Z: ${path.join(replica, 'backups', '20991230T000000Z')} does not hold a Strongroom backup manifest.`,
    );
  });
});
