// No plaintext at rest. SQLite: neither a file's content nor its name appears in any file of the
// data directory (database, WAL, shared memory, blobs, staging), whether the vault is open or closed.
// PostgreSQL: Strongroom does not encrypt that database (docs/operations.md: the server's disk
// encryption does, and names and metadata live there), so the file-encryption test cannot apply;
// what still holds is that content never reaches the database or the data directory in clear.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { filesContaining, filesUnder } from '../support/http.js';
import { auth, createOrganisation, openTestVault, upload, type TestVault } from '../support/vault.js';
import { markClosed, removeDataDir } from '../support/vault-dir.js';

const clamd = useClamd();

describe('no plaintext at rest on sqlite', () => {
  let t: TestVault;
  beforeAll(async () => {
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('stores neither the content marker nor the name marker in any file, open or closed', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const contentMarker = `CONTENT-${randomBytes(16).toString('hex')}`;
    const nameMarker = `NAME-${randomBytes(12).toString('hex')}`;
    const body = Buffer.from(`employee,net\n${contentMarker},100\n`.repeat(50));
    const name = `${nameMarker}.csv`;
    const res = await upload(t.app, user, org.collections.payroll!, name, body);
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id;
    // Read it back (the name travels in Content-Disposition) so every code path has run.
    const download = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${id}/content`, headers: auth(user) });
    expect(download.rawPayload.equals(body)).toBe(true);
    expect(download.headers['content-disposition']).toContain(nameMarker);
    await t.vault.audit.sequencer.flush();

    const files = await filesUnder(t.dataDir);
    expect(files.some((f) => f.endsWith('strongroom.db'))).toBe(true);
    expect(files.some((f) => f.includes('/blobs/'))).toBe(true);
    const check = async () => {
      for (const marker of [contentMarker, nameMarker]) {
        expect(await filesContaining(t.dataDir, Buffer.from(marker, 'utf8')), marker).toEqual([]);
        expect(await filesContaining(t.dataDir, Buffer.from(marker, 'utf16le')), `${marker} (UTF-16LE)`).toEqual([]);
      }
    };
    await check(); // open: WAL and -shm present

    // Closed: the WAL is checkpointed into the main file. The harness deletes dataDir on close,
    // so close only the database and vault here, then check, then let afterAll clean up.
    await t.app.close();
    await t.vault.close();
    await check();
    markClosed(t, () => removeDataDir(t.dataDir));
  });
});

/** Every table's rows, each value as bytes, so a marker in any text or binary column is found. */
async function rowsContaining(db: Kysely<any>, needle: Buffer): Promise<string[]> {
  const hits: string[] = [];
  for (const table of await db.introspection.getTables()) {
    const rows = await db.selectFrom(table.name).selectAll().execute();
    for (const row of rows) {
      for (const [column, value] of Object.entries(row as Record<string, unknown>)) {
        const bytes = Buffer.isBuffer(value) ? value : typeof value === 'string' ? Buffer.from(value, 'utf8') : null;
        if (bytes?.includes(needle)) hits.push(`${table.name}.${column}`);
      }
    }
  }
  return hits;
}

describe('no plaintext content at rest on postgres', () => {
  let t: TestVault;
  beforeAll(async () => {
    t = await openTestVault({ dialect: 'postgres', clamdSocket: clamd.socketPath });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('keeps the content out of every database row and every file, and the name out of every file', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const contentMarker = `CONTENT-${randomBytes(16).toString('hex')}`;
    const nameMarker = `NAME-${randomBytes(12).toString('hex')}`;
    const body = Buffer.from(`employee,net\n${contentMarker},100\n`.repeat(50));
    const res = await upload(t.app, user, org.collections.payroll!, `${nameMarker}.csv`, body);
    expect(res.statusCode, res.body).toBe(201);
    const download = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${res.json().id}/content`, headers: auth(user) });
    expect(download.statusCode).toBe(200);
    expect(download.rawPayload.equals(body)).toBe(true);
    await t.vault.audit.sequencer.flush();

    const files = await filesUnder(t.dataDir);
    expect(files.some((f) => f.includes('/blobs/'))).toBe(true);
    expect(files.some((f) => f.endsWith('strongroom.db'))).toBe(false);
    for (const marker of [contentMarker, nameMarker]) {
      expect(await filesContaining(t.dataDir, Buffer.from(marker, 'utf8')), marker).toEqual([]);
      expect(await filesContaining(t.dataDir, Buffer.from(marker, 'utf16le')), `${marker} (UTF-16LE)`).toEqual([]);
    }
    const db = t.vault.store.db as Kysely<any>;
    expect(await rowsContaining(db, Buffer.from(contentMarker, 'utf8'))).toEqual([]);
    expect(await rowsContaining(db, Buffer.from(contentMarker, 'utf16le'))).toEqual([]);
    // The check can fail: the name is in the rows, as documented.
    expect(await rowsContaining(db, Buffer.from(nameMarker, 'utf8'))).toContain('documents.name');
  });
});
