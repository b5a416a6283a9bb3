// The audit signing key is made once, durably: the file and the folder that names it are flushed
// before it is used, and a second start reads the same key.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
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

  it('is made once when two processes start at the same moment, and both use it', async () => {
    const config = loadConfig({ env: { STRONGROOM_DATA: dataDir } });
    const [first, second] = await Promise.all([loadSigningKey(config, true), loadSigningKey(config, true)]);
    expect(second).toBe(first);
    expect(await readdir(path.join(dataDir, 'keys'))).toEqual(['audit-signing.key']);
  });
});
