// The server's own connection to the embedded database keeps the page cache its setting gives it
// (STRONGROOM_SQLITE_MAIN_CACHE_MIB, smaller by default than the search reader's), not the search
// reader's (docs/performance.md "The main connection's page cache on a large vault"). SQLite only:
// PostgreSQL's cache is the server's business.
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openTestVault } from '../support/vault.js';

// Nothing here scans: the vault opens without reaching clamd.
const NO_CLAMD = '/nonexistent/clamd.sock';

/** The main connection's cache_size (negative: KiB) in a vault opened with these settings. */
async function mainCacheSize(env: Record<string, string>): Promise<number | undefined> {
  const t = await openTestVault({ dialect: 'sqlite', clamdSocket: NO_CLAMD, env });
  try {
    const { rows } = await sql<{ cache_size: number }>`pragma cache_size`.execute(t.vault.store.db);
    return rows[0]?.cache_size;
  } finally {
    await t.close();
  }
}

describe('the embedded database’s main connection', () => {
  it('keeps 2 MiB of pages by default, whatever the search reader keeps', async () => {
    expect(await mainCacheSize({ STRONGROOM_SQLITE_CACHE_MIB: '64' })).toBe(-2048);
  });

  it('keeps what STRONGROOM_SQLITE_MAIN_CACHE_MIB says', async () => {
    expect(await mainCacheSize({ STRONGROOM_SQLITE_MAIN_CACHE_MIB: '24' })).toBe(-24576);
  });
});
