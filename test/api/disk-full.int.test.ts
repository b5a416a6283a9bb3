// A full disk during an upload: 507 with a message a person understands on every interface, nothing
// half-stored (no document, no blob, no staging file, no upload audit event), reads keep working,
// and uploads work again once space is freed. The data directory is a small tmpfs this suite
// mounts, so it needs root (CI runs as root); without root it fails rather than skipping.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, statfs } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, expectProblem, filesUnder, uploadMultipart } from '../support/http.js';
import { blobFilesUnder } from '../support/blob-files.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { DIALECTS, auth, createOrganisation, openTestVault, upload, type TestOrganisation, type TestUser, type TestVault } from '../support/vault.js';
import { FormClient, addPerson } from '../ui/support.js';
import { davUser, type DavUser } from '../webdav/support.js';

const TMPFS_BYTES = 24 * 1024 * 1024;
/** Room left on the disk while it is "full": enough for the database's small writes, not for a file. */
const ROOM = 2 * 1024 * 1024;
const FILE = Buffer.alloc(4 * 1024 * 1024, 0x5a);
const NO_SPACE = /not enough storage space/i;

let clamd: TestClamd;
beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('The disk-full suite mounts a tmpfs and must run as root (as CI does); it was not skipped, it cannot run here.');
  clamd = await startTestClamd();
});
afterAll(async () => {
  await clamd?.stop();
});

describe.each(DIALECTS)('a full disk on %s', (dialect) => {
  let outer: string;
  let dataDir: string;
  let t: TestVault;
  let base: string;
  let org: TestOrganisation;
  let user: TestUser;
  let davPerson: DavUser;
  let client: FormClient;
  let existing: { id: string };
  const filler = () => path.join(dataDir, 'filler');

  beforeAll(async () => {
    outer = await mkdtemp(path.join(tmpdir(), 'sr-full-'));
    dataDir = path.join(outer, 'data');
    await mkdir(dataDir, { mode: 0o700 });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES},mode=0700`, 'tmpfs', dataDir]);
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true, dataDir });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    org = await createOrganisation(t.vault);
    user = await org.user({ teams: ['payroll'] });
    davPerson = await davUser(t.vault, org, { teams: ['payroll'] });
    const member = await addPerson(t.vault, org.slug, { teams: ['payroll'] });
    client = new FormClient(base);
    await client.signIn(member.email);
    existing = (await upload(t.app, user, org.collections.payroll!, 'existing.txt', 'still readable\n')).json();
  });
  afterAll(async () => {
    await t?.close();
    if (dataDir) execFileSync('umount', [dataDir]);
    if (outer) await rm(outer, { recursive: true, force: true });
  });

  /** Fills the disk until only ROOM bytes are free. */
  async function fillDisk(): Promise<void> {
    const { bavail, bsize } = await statfs(dataDir);
    const free = bavail * bsize;
    expect(free).toBeGreaterThan(ROOM + FILE.length);
    const handle = await open(filler(), 'w');
    try {
      const block = Buffer.alloc(1024 * 1024);
      let left = free - ROOM;
      while (left > 0) {
        const { bytesWritten } = await handle.write(block, 0, Math.min(block.length, left));
        left -= bytesWritten;
      }
    } finally {
      await handle.close();
    }
  }

  const blobCount = () => blobFilesUnder(path.join(dataDir, 'blobs'));
  const partCount = async () => (await filesUnder(path.join(dataDir, 'tmp'))).filter((f) => f.endsWith('.part')).length;
  const uploadEvents = async () => {
    await t.vault.audit.sequencer.integrate();
    return (await t.vault.store.repos.audit.forOrganisation(org.id)).filter((e) => e.action === 'document.upload' || e.action === 'document.version').length;
  };
  const names = async () => (await api(t.app, user).get(`collections/${org.collections.payroll}`)).json().documents.map((d: { name: string; version: number }) => [d.name, d.version]);

  it('refuses uploads with 507 on every interface, stores nothing, keeps serving reads, and accepts uploads again once space is freed', async () => {
    await fillDisk();
    const [blobs, events] = [await blobCount(), await uploadEvents()];

    // REST: raw body, multipart, new version.
    expect(expectProblem(await upload(t.app, user, org.collections.payroll!, 'raw.bin', FILE), 507).detail).toMatch(NO_SPACE);
    expect(expectProblem(await uploadMultipart(t.app, user, org.collections.payroll!, 'form.bin', FILE), 507).detail).toMatch(NO_SPACE);
    expect(expectProblem(await api(t.app, user).put(`documents/${existing.id}/content`, FILE), 507).detail).toMatch(NO_SPACE);

    // WebDAV: 507 Insufficient Storage (RFC 4918 §11.5).
    const put = await fetch(`${base}/dav/${org.slug}/payroll/dav.bin`, { method: 'PUT', headers: { authorization: davPerson.basic }, body: FILE });
    expect(put.status).toBe(507);
    expect(await put.text()).toMatch(NO_SPACE);

    // Web interface: the upload form reports the file as not uploaded; the new-version form answers 507.
    const page = await client.get(`/upload?collection=${org.collections.payroll}`);
    const form = new FormData();
    form.append('_csrf', FormClient.csrf(page.text));
    form.append('collectionId', org.collections.payroll!);
    form.append('files', new Blob([FILE]), 'web.bin');
    const web = await client.request('POST', '/upload', { body: form, headers: { accept: 'application/json' } });
    expect(web.status).toBe(200);
    expect(JSON.parse(web.text).files).toEqual([expect.objectContaining({ name: 'web.bin', ok: false, status: 'refused', documentId: null, message: expect.stringMatching(NO_SPACE) })]);
    const documentPage = await client.get(`/documents/${existing.id}`);
    const versionForm = new FormData();
    versionForm.append('_csrf', FormClient.csrf(documentPage.text));
    versionForm.append('file', new Blob([FILE]), 'v2.bin');
    const version = await client.request('POST', `/documents/${existing.id}/versions`, { body: versionForm });
    expect(version.status).toBe(507);
    expect(version.text).toContain('govuk-error-summary');
    expect(version.text).toMatch(NO_SPACE);

    // Nothing half-stored.
    expect(await blobCount()).toBe(blobs);
    expect(await partCount()).toBe(0);
    expect(await uploadEvents()).toBe(events);
    expect(await names()).toEqual([['existing.txt', 1]]);

    // Reads keep working while the disk is full.
    const read = await api(t.app, user).get(`documents/${existing.id}/content`);
    expect(read.statusCode).toBe(200);
    expect(read.body).toBe('still readable\n');
    const davRead = await fetch(`${base}/dav/${org.slug}/payroll/existing.txt`, { headers: { authorization: davPerson.basic } });
    expect(davRead.status).toBe(200);
    expect(await davRead.text()).toBe('still readable\n');

    // Space freed: the same upload now succeeds, whole.
    await rm(filler());
    const again = await upload(t.app, user, org.collections.payroll!, 'raw.bin', FILE);
    expect(again.statusCode, again.body).toBe(201);
    expect(again.json().size).toBe(FILE.length);
    const back = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${again.json().id}/content`, headers: auth(user) });
    expect(back.rawPayload.equals(FILE)).toBe(true);
    expect(await names()).toEqual([['existing.txt', 1], ['raw.bin', 1]]);
  });
});
