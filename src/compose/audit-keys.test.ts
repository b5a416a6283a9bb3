// The audit signing key is made once, durably: the file and the folder that names it are flushed
// before it is used, and a second start reads the same key.
import { mkdir, mkdtemp, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pathsSynced } from '../../test/support/fsync-watch.js';
import { loadConfig } from '../config/config.js';
import { auditKeyPath, loadSigningKey } from './audit-keys.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'sr-audit-keys-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('the audit signing key', () => {
  it('is flushed with its folder when first made, owner-only, and read back unchanged after', async () => {
    const config = loadConfig({ env: { STRONGROOM_DATA: dataDir } });
    const file = auditKeyPath(config.dataDir);
    expect(file.startsWith(dataDir)).toBe(true);
    let key = '';
    const paths = await pathsSynced(async () => {
      key = await loadSigningKey(config, true);
    });
    // keys/ made and its parent flushed; the key written and flushed under a temporary name, linked into
    // place, and the folder flushed with the name in it.
    const keys = path.dirname(file);
    expect(paths.map((p) => (p.endsWith('.tmp') ? `${keys}/(temporary)` : p))).toEqual([dataDir, `${keys}/(temporary)`, keys, keys]);
    expect(await readdir(keys)).toEqual(['audit-signing.key']);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await loadSigningKey(config, false)).toBe(key);
  });

  it('removes the temporary keys a process left when it stopped while making the key, once they are old, and nothing else', async () => {
    const config = loadConfig({ env: { STRONGROOM_DATA: dataDir } });
    const key = await loadSigningKey(config, true);
    const keys = path.dirname(auditKeyPath(config.dataDir));
    const old = new Date(Date.now() - 5 * 60_000);
    const left = '.audit-signing.key.0123456789abcdef.tmp';
    const fresh = '.audit-signing.key.fedcba9876543210.tmp'; // another process making the key now
    const foreign = '.audit-signing.key.not-ours.tmp';
    await writeFile(path.join(keys, left), 'a private key never used\n', { mode: 0o600 });
    await writeFile(path.join(keys, fresh), 'being made\n', { mode: 0o600 });
    await writeFile(path.join(keys, foreign), 'someone else\'s\n', { mode: 0o600 });
    await mkdir(path.join(dataDir, 'elsewhere'));
    await writeFile(path.join(dataDir, 'elsewhere', 'kept'), 'kept');
    await symlink(path.join(dataDir, 'elsewhere', 'kept'), path.join(keys, '.audit-signing.key.aaaaaaaaaaaaaaaa.tmp'));
    for (const name of [left, foreign]) await utimes(path.join(keys, name), old, old);
    expect(await loadSigningKey(config, false)).toBe(key);
    expect((await readdir(keys)).sort()).toEqual(['.audit-signing.key.aaaaaaaaaaaaaaaa.tmp', foreign, fresh, 'audit-signing.key'].sort());
    expect(await readdir(path.join(dataDir, 'elsewhere'))).toEqual(['kept']);
  });

  it('is made once when two processes start at the same moment, and both use it', async () => {
    const config = loadConfig({ env: { STRONGROOM_DATA: dataDir } });
    const [first, second] = await Promise.all([loadSigningKey(config, true), loadSigningKey(config, true)]);
    expect(second).toBe(first);
    expect(await readdir(path.join(dataDir, 'keys'))).toEqual(['audit-signing.key']);
  });
});
