// A database busy with another process is "try again", never an internal error, on every interface, for
// a statement run outside any transaction too: here a download's audit event (written before the first
// byte, outside a transaction, gathered with others: db/coalesced-inserts.ts) while another connection to
// the SQLite file (as `strongroom backup` or a sweep run beside the server would be) holds the write lock
// past the busy timeout. The REST API, the web page and WebDAV each answer 503 with Retry-After and the
// same words, send nothing of the file and record no download; once the lock is gone the same request works.
// SQLite only: PostgreSQL makes a single statement wait for a row lock as long as it is held (there is no
// busy timeout to run past), so no request can be made to meet it; its driver's translation of the same
// contention and of a database that refuses connections is tested in src/db/store-concurrent-change.int.test.ts.
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqlite, type DatabaseHandle } from '../../src/db/kysely.js';
import { deriveKey, loadMasterKey } from '../../src/storage/keys.js';
import { useClamd } from '../support/fixture.js';
import { auth, createOrganisation, openTestVault, upload, type TestUser, type TestVault } from '../support/vault.js';
import { FormClient } from '../ui/support.js';
import { dav, davUser, type DavUser } from '../webdav/support.js';

const clamd = useClamd();
const TRY_AGAIN = 'Someone changed the same records at the same moment, so nothing was changed. Try again.';

describe('a download while another process holds the SQLite write lock', () => {
  let t: TestVault;
  let base: string;
  let other: DatabaseHandle;
  let alice: TestUser;
  let davAlice: DavUser;
  let web: FormClient;
  let documentId: string;
  let davPath: string;
  const downloads = async () => (await t.vault.store.db.selectFrom('audit_events').select('id').where('document_id', '=', documentId).where('action', '=', 'document.download').execute()).length;

  beforeAll(async () => {
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, listen: true });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const org = await createOrganisation(t.vault);
    alice = await org.user({ roles: ['member'], teams: ['finance'] });
    davAlice = await davUser(t.vault, org, { roles: ['member'], teams: ['finance'] });
    const res = await upload(t.app, alice, org.collections.finance!, 'budget.txt', 'the budget');
    expect(res.statusCode).toBe(201);
    documentId = res.json<{ id: string }>().id;
    davPath = `/dav/${org.slug}/finance/budget.txt`;
    web = new FormClient(base);
    await web.signIn(alice.email);
    // Another connection to the same file, as a CLI command run beside the server opens.
    const master = await loadMasterKey({ dataDir: t.dataDir, create: false });
    other = openSqlite({ file: path.join(t.dataDir, 'strongroom.db'), key: deriveKey(master, 'sqlite-database') });
    // The server waits a tenth of a second for the lock, not its five, to keep the test quick.
    await sql`pragma busy_timeout = 100`.execute(t.vault.store.db);
  });
  afterAll(async () => {
    await other?.close();
    await t?.close();
  });

  /** Runs `request` while the other connection holds the write lock (BEGIN IMMEDIATE), released after. */
  async function whileLocked<T>(request: () => Promise<T>): Promise<T> {
    await sql`begin immediate`.execute(other.db);
    try {
      return await request();
    } finally {
      await sql`rollback`.execute(other.db);
    }
  }

  it('REST: 503, Retry-After: 1, problem "unavailable", no download recorded; works once the lock is gone', async () => {
    const before = await downloads();
    const res = await whileLocked(() => fetch(`${base}/api/v1/documents/${documentId}/content`, { headers: auth(alice) }));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ type: 'https://strongroom.local/problems/unavailable', status: 503, title: 'Service unavailable', detail: TRY_AGAIN, retryAfterSeconds: 1 });
    expect(await downloads()).toBe(before);
    const again = await fetch(`${base}/api/v1/documents/${documentId}/content`, { headers: auth(alice) });
    expect(again.status).toBe(200);
    expect(await again.text()).toBe('the budget');
    expect(await downloads()).toBe(before + 1);
  });

  it('web: a 503 page with Retry-After: 1 and the same words, no download recorded', async () => {
    const before = await downloads();
    const res = await whileLocked(() => web.click(`/documents/${documentId}/download`));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.text).toContain(TRY_AGAIN);
    expect(await downloads()).toBe(before);
  });

  it('WebDAV: 503, Retry-After: 1 and the same words, no download recorded', async () => {
    const before = await downloads();
    const res = await whileLocked(() => dav(base, 'GET', davPath, { user: davAlice }));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.body).toBe(`${TRY_AGAIN}\n`);
    expect(await downloads()).toBe(before);
    expect((await dav(base, 'GET', davPath, { user: davAlice })).body).toBe('the budget');
  });
});
