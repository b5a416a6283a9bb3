// A restore that fails part-way (here a database part found damaged as its end is read) leaves a
// data directory no process opens as the vault: a start is refused and says why, and a restore run
// again starts over from what the failed one left instead of refusing a directory that is not empty.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DATABASE_FILE, loadInto, type OpenedBackup } from '../../src/backup-open.js';
import { RESTORE_MARKER } from '../../src/compose/restore-marker.js';
import { loadConfig } from '../../src/config/config.js';
import { migrationNames } from '../../src/db/migrate.js';
import { generateSignerKey } from '../../src/domain/audit/signed-note.js';
import { openVault } from '../../src/main.js';
import { openBackupLocation, writePart } from '../../src/storage/backup-archive.js';
import { loadMasterKey } from '../../src/storage/keys.js';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'sr-unfinished-restore-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A backup whose database part does not match its manifest, which is only found as the part's end is read. */
async function damagedBackup(): Promise<OpenedBackup> {
  const location = openBackupLocation(path.join(work, 'backup'));
  const key = randomBytes(32);
  const part = writePart(location, 'b1', key, 'database.sqlite');
  await part.write(randomBytes(300 * 1024));
  const stored = { ...(await part.done()), sha256: '0'.repeat(64) };
  return {
    location, key,
    manifest: { format: 'strongroom-backup/1', id: 'b1', dialect: 'sqlite', migrations: migrationNames(), parts: [stored] } as unknown as OpenedBackup['manifest'],
    keys: { 'audit-signing.key': generateSignerKey('unfinished-restore'), 'audit-last-checkpoint.note': 'a checkpoint note\n' },
    part: () => stored,
  };
}

const contents = async (dataDir: string): Promise<string[]> =>
  [...(await readdir(dataDir)), ...(await readdir(path.join(dataDir, 'keys'))).map((k) => `keys/${k}`)].sort();

describe('a restore that did not finish', () => {
  it('is not opened as the vault, and a restore run again starts over from what it left', async () => {
    const dataDir = path.join(work, 'data');
    await loadMasterKey({ dataDir, create: true });
    const logger = pino({ level: 'silent' });

    const backup = await damagedBackup();
    await expect(loadInto(backup, { dataDir }, logger)).rejects.toThrow('does not match its manifest');
    // The keys it restored are there, the database is not, and the marker says the restore is unfinished.
    expect(await contents(dataDir)).toEqual(['keys', 'keys/audit-last-checkpoint.note', 'keys/audit-signing.key', 'keys/master.key', RESTORE_MARKER].sort());

    // A start (with or without creating what is missing) refuses it rather than make a new, empty vault beside the keys.
    const config = loadConfig({ env: { STRONGROOM_DATA: dataDir, STRONGROOM_LOG_LEVEL: 'silent', STRONGROOM_OFFSITE: path.join(work, 'offsite') } });
    for (const create of [false, true]) {
      await expect(openVault(config, { create, startClamd: false, logger })).rejects.toThrow(`A restore into ${dataDir} did not finish`);
    }
    expect(await readdir(dataDir)).not.toContain(DATABASE_FILE);

    // Run again, the restore clears what the failed one left (never the master key) and gets as far as before.
    await expect(loadInto(backup, { dataDir }, logger)).rejects.toThrow('does not match its manifest');
    expect(await contents(dataDir)).toEqual(['keys', 'keys/audit-last-checkpoint.note', 'keys/audit-signing.key', 'keys/master.key', RESTORE_MARKER].sort());
  });
});
