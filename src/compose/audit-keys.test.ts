// The audit signing key is made once, durably: the file and the folder that names it are flushed
// before it is used, and a second start reads the same key.
import { mkdtemp, rm, stat } from 'node:fs/promises';
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
    expect(paths).toEqual([file, path.dirname(file)]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await loadSigningKey(config, false)).toBe(key);
  });
});
