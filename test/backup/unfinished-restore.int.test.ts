// A restore that fails part-way (here a database part found damaged as its end is read) leaves a
// data directory no process opens as the vault: a start is refused and says why, and a restore run
// again starts over from what the failed one left instead of refusing a directory that is not empty.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DATABASE_FILE, loadInto, type OpenedBackup } from '../../src/backup-open.js';
import { lockForRestore, markRestoreFinished, markRestoreStarted, RESTORE_MARKER } from '../../src/compose/restore-marker.js';
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
    await writeFile(path.join(dataDir, `.${RESTORE_MARKER}.0123456789abcdef.tmp`), 'a marker staged by a restore stopped before renaming it\n');
    // A restore killed while it signed its checkpoint leaves the lock file beside the signer's copy.
    await writeFile(path.join(dataDir, 'keys', 'audit-last-checkpoint.note.lock'), 'host h, process 1, since then\n');
    await expect(loadInto(backup, { dataDir }, logger)).rejects.toThrow('does not match its manifest');
    expect(await contents(dataDir)).toEqual(['keys', 'keys/audit-last-checkpoint.note', 'keys/audit-signing.key', 'keys/master.key', RESTORE_MARKER].sort());
  });

  it('is started over only by a restore that holds the data directory, and never over what no restore writes', async () => {
    const dataDir = path.join(work, 'data');
    await loadMasterKey({ dataDir, create: true });
    const logger = pino({ level: 'silent' });
    const backup = await damagedBackup();
    await expect(loadInto(backup, { dataDir }, logger)).rejects.toThrow('does not match its manifest');

    // A second restore while one holds the directory is refused, and touches nothing.
    const release = await lockForRestore(dataDir);
    await expect(lockForRestore(dataDir)).rejects.toThrow(`Another restore into ${dataDir} is running`);
    await release();

    // Something no restore writes (an offsite folder kept inside, a copy of the backup) stops a start-over.
    await mkdir(path.join(dataDir, 'offsite'));
    await writeFile(path.join(dataDir, 'offsite', '000000000012.note'), 'a checkpoint\n');
    await expect(loadInto(backup, { dataDir }, logger)).rejects.toThrow(`Refusing to start the unfinished restore into ${dataDir} over: it also holds offsite`);
    expect(await readdir(path.join(dataDir, 'offsite'))).toEqual(['000000000012.note']);
    expect(await contents(dataDir)).toContain('keys/audit-signing.key');
    await rm(path.join(dataDir, 'offsite'), { recursive: true });

    // keys/ turned into a link to somewhere else is not followed.
    const elsewhere = path.join(work, 'elsewhere');
    await mkdir(elsewhere);
    await writeFile(path.join(elsewhere, 'audit-signing.key'), 'not the vault\'s\n');
    await rename(path.join(dataDir, 'keys'), path.join(work, 'keys-aside'));
    await symlink(elsewhere, path.join(dataDir, 'keys'));
    await expect(loadInto(backup, { dataDir }, logger)).rejects.toThrow('is not a folder');
    expect(await readdir(elsewhere)).toEqual(['audit-signing.key']);
  });

  it('is finished only by the restore that marked it', async () => {
    const dataDir = path.join(work, 'data');
    await loadMasterKey({ dataDir, create: true });
    const first = await markRestoreStarted(dataDir, 'b1');
    const second = await markRestoreStarted(dataDir, 'b2');
    await expect(markRestoreFinished(dataDir, first)).rejects.toThrow('is not this restore\'s');
    expect(await readdir(dataDir)).toContain(RESTORE_MARKER);
    await markRestoreFinished(dataDir, second);
    expect(await readdir(dataDir)).not.toContain(RESTORE_MARKER);
  });
});
