// Group commit (docs/architecture.md "Durability"): no answer leaves the server before the writes it
// depends on are on disk. A REST upload, a REST download, a WebDAV PUT and a WebDAV GET each commit
// their metadata or audit event; with the SQLite write-ahead log's sync held back from then on, their
// response headers do not arrive until the sync is released. Upload admission alone does not wait for
// a sync (its slot is a lease), so an upload gets as far as its document's commit with every sync held. PostgreSQL's commit waits for
// its own WAL flush, so there no sync is asked of the group commit and nothing waits.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { syncGate } from '../support/sync-gate.js';
import { DIALECTS, createOrganisation, openTestVault, type TestOrganisation, type TestUser, type TestVault } from '../support/vault.js';
import { davUser, type DavUser } from '../webdav/support.js';

const clamd = useClamd();

describe.each(DIALECTS)('responses wait for durability on %s', (dialect) => {
  const gate = syncGate();
  let t: TestVault;
  let base: string;
  let org: TestOrganisation;
  let alice: TestUser;
  let davAlice: DavUser;
  /** Download events recorded for the document, sequenced into the audit tree or not yet. */
  async function downloadEvents(documentId: string): Promise<number> {
    const rows = await t.vault.store.db.selectFrom('audit_events').select('id').where('document_id', '=', documentId).where('action', '=', 'document.download').execute();
    return rows.length;
  }
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true, syncDatabaseLog: gate.sync });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    org = await createOrganisation(t.vault);
    alice = await org.user({ roles: ['member'], teams: ['finance'] });
    davAlice = await davUser(t.vault, org, { roles: ['member'], teams: ['finance'] });
  });
  afterAll(async () => {
    gate.release();
    await t?.close();
  });

  /**
   * Sends the request and holds every sync that begins once `committed()` sees its write in the
   * database. On SQLite the response headers must not arrive while such a sync is held (checked again
   * 300 ms later); once released, the response comes. On PostgreSQL it comes without any sync asked.
   */
  async function answeredOnlyOnceDurable(send: () => Promise<Response>, committed: () => Promise<boolean>): Promise<Response> {
    gate.holdWhen(committed);
    const askedBefore = gate.asked;
    let answered = false;
    const response = send().then((res) => {
      answered = true;
      return res;
    });
    try {
      await expect.poll(committed, { timeout: 30_000, interval: 20 }).toBe(true);
      if (dialect === 'postgres') {
        const res = await response;
        expect(gate.asked, 'PostgreSQL asked the group commit for a sync').toBe(askedBefore);
        return res;
      }
      await expect.poll(() => gate.held, { timeout: 10_000, interval: 20 }).toBeGreaterThan(0);
      expect(answered, 'the response left before its write was durable').toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(answered, 'the response left before its write was durable').toBe(false);
    } finally {
      gate.release();
    }
    return response;
  }

  it('a REST upload is answered only once its document is durable', async () => {
    const name = `upload-${dialect}.txt`;
    const res = await answeredOnlyOnceDurable(
      () => fetch(`${base}/api/v1/collections/${org.collections.finance}/documents?name=${name}`, {
        method: 'POST', headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/octet-stream' }, body: 'quarterly figures',
      }),
      async () => (await t.vault.store.repos.documents.byName(org.collections.finance!, name)) !== undefined,
    );
    expect(res.status).toBe(201);
  });

  it('admits an upload without waiting for a sync (its slot is a lease), and still answers it only once its document is durable', async () => {
    const name = `admitted-${dialect}.txt`;
    const committed = async () => (await t.vault.store.repos.documents.byName(org.collections.finance!, name)) !== undefined;
    // Every sync is held from before the upload starts: were admission to wait for one, the document would never be written.
    gate.hold();
    let answered = false;
    const response = fetch(`${base}/api/v1/collections/${org.collections.finance}/documents?name=${name}`, {
      method: 'POST', headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/octet-stream' }, body: 'minutes',
    }).then((res) => {
      answered = true;
      return res;
    });
    try {
      await expect.poll(committed, { timeout: 30_000, interval: 20 }).toBe(true);
      if (dialect === 'sqlite') {
        await expect.poll(() => gate.held, { timeout: 10_000, interval: 20 }).toBeGreaterThan(0);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(answered, 'the response left before its write was durable').toBe(false);
      }
    } finally {
      gate.release();
    }
    expect((await response).status).toBe(201);
  });

  it('a REST download is answered only once its audit event is durable', async () => {
    const document = (await t.vault.store.repos.documents.byName(org.collections.finance!, `upload-${dialect}.txt`))!;
    const downloads = () => downloadEvents(document.id);
    const before = await downloads();
    const res = await answeredOnlyOnceDurable(
      () => fetch(`${base}/api/v1/documents/${document.id}/content`, { headers: { authorization: `Bearer ${alice.token}` } }),
      async () => (await downloads()) === before + 1,
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('quarterly figures');
  });

  it('a WebDAV PUT is answered only once its document is durable', async () => {
    const name = `dav-${dialect}.txt`;
    const res = await answeredOnlyOnceDurable(
      () => fetch(`${base}/dav/${org.slug}/finance/${name}`, { method: 'PUT', headers: { authorization: davAlice.basic }, body: 'minutes of the meeting' }),
      async () => (await t.vault.store.repos.documents.byName(org.collections.finance!, name)) !== undefined,
    );
    expect(res.status).toBe(201);
  });

  it('a WebDAV GET is answered only once its audit event is durable', async () => {
    const document = (await t.vault.store.repos.documents.byName(org.collections.finance!, `dav-${dialect}.txt`))!;
    const downloads = () => downloadEvents(document.id);
    const before = await downloads();
    const res = await answeredOnlyOnceDurable(
      () => fetch(`${base}/dav/${org.slug}/finance/dav-${dialect}.txt`, { headers: { authorization: davAlice.basic } }),
      async () => (await downloads()) === before + 1,
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('minutes of the meeting');
  });

  // Last: a failed sync leaves a SQLite vault unable to acknowledge anything until it is restarted.
  // PostgreSQL never asks the group commit, so the same failure there changes nothing.
  it('answers 500, never 201, when the write-ahead log cannot be synced, and keeps refusing', async () => {
    gate.fail();
    const askedBefore = gate.asked;
    for (const name of ['after-eio-1.txt', 'after-eio-2.txt']) {
      const res = await fetch(`${base}/api/v1/collections/${org.collections.finance}/documents?name=${name}`, {
        method: 'POST', headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/octet-stream' }, body: 'not acknowledged',
      });
      expect(res.status, name).toBe(dialect === 'sqlite' ? 500 : 201);
    }
    if (dialect === 'postgres') expect(gate.asked).toBe(askedBefore);
  });
});

// On SQLite a download's audit event, asked for while the log's sync is in flight, is gathered until
// that sync ends (docs/architecture.md "Durability"): it is not committed, nor the download answered,
// while the sync is held; once it ends, the event is committed and the next sync covers it.
describe('a download behind a sync in flight on sqlite', () => {
  const gate = syncGate();
  let t: TestVault;
  let base: string;
  let org: TestOrganisation;
  let alice: TestUser;
  beforeAll(async () => {
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, listen: true, syncDatabaseLog: gate.sync });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    org = await createOrganisation(t.vault);
    alice = await org.user({ roles: ['member'], teams: ['finance'] });
  });
  afterAll(async () => {
    gate.release();
    await t?.close();
  });

  it('gathers its audit event until the sync ends, and answers only after the sync that covers it', async () => {
    const uploaded = await fetch(`${base}/api/v1/collections/${org.collections.finance}/documents?name=payslips.txt`, {
      method: 'POST', headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/octet-stream' }, body: 'November payslips',
    });
    expect(uploaded.status).toBe(201);
    const { id } = (await uploaded.json()) as { id: string };
    const downloads = async () => (await t.vault.store.db.selectFrom('audit_events').select('id').where('document_id', '=', id).where('action', '=', 'document.download').execute()).length;

    // A sync in flight, begun before the download: another write, made durable.
    gate.hold();
    await t.vault.store.db.updateTable('organisations').set({ name: 'Shire District Council' }).where('id', '=', org.id).execute();
    const syncing = t.vault.store.durable();
    await expect.poll(() => gate.held).toBe(1);

    const askedBefore = gate.asked;
    let answered = false;
    const response = fetch(`${base}/api/v1/documents/${id}/content`, { headers: { authorization: `Bearer ${alice.token}` } }).then((res) => {
      answered = true;
      return res;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await downloads(), 'the event was committed while the sync in flight ran').toBe(0);
    expect(answered).toBe(false);

    // The held sync ends; the event commits, and the next sync (held too) must cover it before any answer.
    gate.release();
    gate.holdWhen(async () => (await downloads()) === 1);
    await syncing;
    await expect.poll(downloads).toBe(1);
    await expect.poll(() => gate.held).toBe(1);
    expect(gate.asked).toBe(askedBefore + 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(answered, 'answered before a sync covering its event ended').toBe(false);
    gate.release();
    const res = await response;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('November payslips');
  });
});
