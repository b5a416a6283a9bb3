// An upload decides again once its bytes have arrived, and that includes the credential it came
// with: an API token or WebDAV app password revoked, or a web session signed out or ended by an
// admin, while the body is still arriving stores nothing (401, audited as the attempted action with
// reason credential_revoked or session_ended), though the person stays enabled. Another credential of
// the same person, in flight at the same moment, is not affected. Real HTTP on both dialects: the
// bodies are held back mid-way by the test, the credential is revoked through the interface a person
// would use, then the bodies are finished (a switched-off person: upload-meanwhile.int.test.ts).
import { request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { blobFilesUnder } from '../support/blob-files.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { DIALECTS, createOrganisation, upload, type TestOrganisation, type TestUser } from '../support/vault.js';
import { FormClient, addPerson } from '../ui/support.js';

const clamd = useClamd();

interface Answer { status: number; headers: IncomingHttpHeaders; body: string }

/**
 * A request over real HTTP whose body stops after `head` (Content-Length says more is coming) until
 * `finish()` sends `tail`; `finish` resolves with the answer.
 */
function heldRequest(port: number, method: string, path: string, headers: Record<string, string>, head: Buffer, tail: Buffer): { finish(): Promise<Answer> } {
  let send = (): void => undefined;
  const answer = new Promise<Answer>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, headers: { ...headers, 'content-length': String(head.length + tail.length) } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.write(head);
    send = () => void req.end(tail);
  });
  return {
    finish() {
      send();
      return answer;
    },
  };
}

describe.each(DIALECTS)('an upload whose credential is revoked while its body arrives, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  const port = () => (t.app.server.address() as AddressInfo).port;
  const base = () => `http://127.0.0.1:${port()}`;

  const first = Buffer.from('first bytes, ');
  const rest = Buffer.from('arriving late\n');

  /** Waits until `userId` holds `count` upload slots: each of their uploads is authenticated and admitted, reading its body. */
  async function admitted(userId: string, count: number): Promise<void> {
    for (let i = 0; i < 500; i++) {
      const mine = (await t.vault.store.repos.uploadSlots.live(new Date().toISOString())).filter((s) => s.accountId === userId);
      if (mine.length >= count) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`${userId} never held ${count} upload slots`);
  }
  const slotsOf = async (userId: string) => (await t.vault.store.repos.uploadSlots.live(new Date().toISOString())).filter((s) => s.accountId === userId).length;
  const refusals = async (userId: string, action: string) => (await t.vault.store.db.selectFrom('audit_events').select(['decision', 'reason', 'channel']).where('action', '=', action).where('actor_user_id', '=', userId).execute())
    .filter((e) => e.decision === 'deny');
  const blobs = () => blobFilesUnder(join(t.dataDir, 'blobs'));

  async function staff(): Promise<{ org: TestOrganisation; person: TestUser; tokenId: string }> {
    const org = await createOrganisation(t.vault);
    const person = await org.user({ teams: ['payroll', 'hr'] });
    const [token] = await t.vault.credentials.listCredentials(systemActor(), person.id);
    return { org, person, tokenId: token!.id };
  }

  function restUpload(token: string, collectionId: string, name: string) {
    return heldRequest(port(), 'POST', `/api/v1/collections/${collectionId}/documents?name=${encodeURIComponent(name)}`,
      { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, first, rest);
  }

  it('refuses a REST upload whose API token is revoked while its body arrives; the same person’s other token uploads on', async () => {
    const { org, person, tokenId } = await staff();
    const other = await t.vault.credentials.createCredential(systemActor(), person.id, 'api_token', 'other laptop');
    const blobsBefore = await blobs();
    const revoked = restUpload(person.token, org.collections.payroll!, 'revoked.txt');
    const valid = restUpload(other.secret, org.collections.payroll!, 'still-valid.txt');
    await admitted(person.id, 2);

    expect((await api(t.app, { token: other.secret }).delete(`me/credentials/${tokenId}`)).statusCode).toBe(204);
    const [refused, stored] = await Promise.all([revoked.finish(), valid.finish()]);

    expect(refused.status, refused.body).toBe(401);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(refused.body).detail).toBe('The API token this was sent with was revoked while it was being sent, so nothing was saved.');
    expect(stored.status, stored.body).toBe(201);
    expect(await t.vault.store.repos.documents.byName(org.collections.payroll!, 'revoked.txt')).toBeUndefined();
    expect((await t.vault.store.repos.documents.byName(org.collections.payroll!, 'still-valid.txt'))?.id).toBe(JSON.parse(stored.body).id);
    expect(await blobs()).toBe(blobsBefore + 1);
    expect(await slotsOf(person.id)).toBe(0);
    expect(await refusals(person.id, 'document.create')).toEqual([{ decision: 'deny', reason: 'credential_revoked', channel: 'api' }]);
  });

  it('refuses a REST new version whose API token is revoked while its body arrives', async () => {
    const { org, person, tokenId } = await staff();
    const other = await t.vault.credentials.createCredential(systemActor(), person.id, 'api_token', 'other laptop');
    const res = await upload(t.app, person, org.collections.payroll!, 'mine.txt', 'first\n');
    expect(res.statusCode, res.body).toBe(201);
    const documentId = res.json().id as string;
    const blobsBefore = await blobs();
    const version = heldRequest(port(), 'PUT', `/api/v1/documents/${documentId}/content`,
      { authorization: `Bearer ${person.token}`, 'content-type': 'application/octet-stream' }, first, rest);
    await admitted(person.id, 1);

    expect((await api(t.app, { token: other.secret }).delete(`me/credentials/${tokenId}`)).statusCode).toBe(204);
    const refused = await version.finish();

    expect(refused.status, refused.body).toBe(401);
    expect((await t.vault.store.repos.documents.versions(documentId)).map((v) => v.number)).toEqual([1]);
    expect(await blobs()).toBe(blobsBefore);
    expect(await slotsOf(person.id)).toBe(0);
    expect(await refusals(person.id, 'document.version')).toEqual([{ decision: 'deny', reason: 'credential_revoked', channel: 'api' }]);
    // The other token still works afterwards.
    expect((await api(t.app, { token: other.secret }).put(`documents/${documentId}/content`, 'second\n')).statusCode).toBe(200);
  });

  it('refuses a WebDAV PUT whose app password is revoked while its body arrives; the same person’s other app password uploads on', async () => {
    const { org, person } = await staff();
    const revokedPassword = await t.vault.credentials.createCredential(systemActor(), person.id, 'app_password', 'laptop');
    const validPassword = await t.vault.credentials.createCredential(systemActor(), person.id, 'app_password', 'phone');
    const basic = (secret: string) => `Basic ${Buffer.from(`${person.email}:${secret}`).toString('base64')}`;
    const put = (secret: string, name: string) => heldRequest(port(), 'PUT', `/dav/${org.slug}/payroll/${name}`, { authorization: basic(secret), 'content-type': 'text/plain' }, first, rest);
    const blobsBefore = await blobs();
    const revoked = put(revokedPassword.secret, 'revoked.txt');
    const valid = put(validPassword.secret, 'still-valid.txt');
    await admitted(person.id, 2);

    expect((await api(t.app, person).delete(`me/credentials/${revokedPassword.id}`)).statusCode).toBe(204);
    const [refused, stored] = await Promise.all([revoked.finish(), valid.finish()]);

    expect(refused.status, refused.body).toBe(401);
    expect(refused.headers['www-authenticate']).toMatch(/^Basic /);
    expect(stored.status, stored.body).toBe(201);
    expect(await t.vault.store.repos.documents.byName(org.collections.payroll!, 'revoked.txt')).toBeUndefined();
    expect(await t.vault.store.repos.documents.byName(org.collections.payroll!, 'still-valid.txt')).toBeDefined();
    expect(await blobs()).toBe(blobsBefore + 1);
    expect(await slotsOf(person.id)).toBe(0);
    expect(await refusals(person.id, 'document.create')).toEqual([{ decision: 'deny', reason: 'credential_revoked', channel: 'webdav' }]);
  });

  /** A person signed in to the web interface in `count` browsers, each with its CSRF token. */
  async function webStaff(count: number) {
    const org = await createOrganisation(t.vault);
    const person = await addPerson(t.vault, org.slug, { teams: ['payroll'] });
    const browsers = [];
    for (let i = 0; i < count; i++) {
      const client = new FormClient(base());
      await client.signIn(person.email);
      browsers.push({ client, csrf: FormClient.csrf((await client.get('/upload')).text) });
    }
    return { org, person, browsers };
  }

  /** The upload form (files only, as the page's script sends it), held after the first bytes of the file. */
  function formUpload(browser: { client: FormClient; csrf: string }, collectionId: string, name: string) {
    const boundary = `----sr${Math.random().toString(16).slice(2)}`;
    const head = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="collectionId"\r\n\r\n${collectionId}\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\n`),
      first,
    ]);
    const tail = Buffer.concat([rest, Buffer.from(`\r\n--${boundary}--\r\n`)]);
    return heldRequest(port(), 'POST', '/upload', {
      cookie: [...browser.client.cookies].map(([k, v]) => `${k}=${v}`).join('; '), 'x-csrf-token': browser.csrf,
      accept: 'application/json', 'content-type': `multipart/form-data; boundary=${boundary}`,
    }, head, tail);
  }

  it('refuses a web upload whose session is signed out while its body arrives; the same person’s other session uploads on', async () => {
    const { org, person, browsers: [signingOut, staying] } = await webStaff(2);
    const blobsBefore = await blobs();
    const refusedForm = formUpload(signingOut!, org.collections.payroll!, 'signed-out.txt');
    const storedForm = formUpload(staying!, org.collections.payroll!, 'still-signed-in.txt');
    await admitted(person.id, 2);

    // Signing out in another tab of the same browser (the same session).
    const out = await signingOut!.client.post('/sign-out', { _csrf: signingOut!.csrf });
    expect(out.status).toBe(303);
    const [refused, stored] = await Promise.all([refusedForm.finish(), storedForm.finish()]);

    expect(refused.status, refused.body).toBe(401);
    expect(JSON.parse(refused.body).detail).toBe('You were signed out while this was being sent, so nothing was saved. Sign in and send it again.');
    expect(stored.status, stored.body).toBe(200);
    expect(JSON.parse(stored.body).files).toMatchObject([{ name: 'still-signed-in.txt', ok: true }]);
    expect(await t.vault.store.repos.documents.byName(org.collections.payroll!, 'signed-out.txt')).toBeUndefined();
    expect(await t.vault.store.repos.documents.byName(org.collections.payroll!, 'still-signed-in.txt')).toBeDefined();
    expect(await blobs()).toBe(blobsBefore + 1);
    expect(await slotsOf(person.id)).toBe(0);
    expect(await refusals(person.id, 'document.create')).toEqual([{ decision: 'deny', reason: 'session_ended', channel: 'web' }]);
  });

  it('refuses a web upload whose sessions an admin ends (MFA reset) while its body arrives; the person’s API token uploads on', async () => {
    const { org, person, browsers: [browser] } = await webStaff(1);
    const { secret } = await t.vault.credentials.createCredential(systemActor(), person.id, 'api_token', 'laptop');
    const blobsBefore = await blobs();
    const refusedForm = formUpload(browser!, org.collections.payroll!, 'session-ended.txt');
    const valid = restUpload(secret, org.collections.payroll!, 'token-still-valid.txt');
    await admitted(person.id, 2);

    await t.vault.people.resetMfa(systemActor(), person.id);
    const [refused, stored] = await Promise.all([refusedForm.finish(), valid.finish()]);

    expect(refused.status, refused.body).toBe(401);
    expect(stored.status, stored.body).toBe(201);
    expect(await t.vault.store.repos.documents.byName(org.collections.payroll!, 'session-ended.txt')).toBeUndefined();
    expect(await blobs()).toBe(blobsBefore + 1);
    expect(await refusals(person.id, 'document.create')).toEqual([{ decision: 'deny', reason: 'session_ended', channel: 'web' }]);
  });

  it('refuses a REST upload whose person is given a role needing a second factor they have not set up while its body arrives', async () => {
    const { org, person } = await staff();
    const blobsBefore = await blobs();
    const pending = restUpload(person.token, org.collections.payroll!, 'now-an-admin.txt');
    await admitted(person.id, 1);

    await t.vault.people.update(systemActor(), person.id, { roles: ['member', 'records_manager'] });
    const refused = await pending.finish();

    expect(refused.status, refused.body).toBe(403);
    expect(await t.vault.store.repos.documents.byName(org.collections.payroll!, 'now-an-admin.txt')).toBeUndefined();
    expect(await blobs()).toBe(blobsBefore);
    expect(await refusals(person.id, 'document.create')).toEqual([{ decision: 'deny', reason: 'mfa_not_set_up', channel: 'api' }]);
  });

  it('refuses a copy whose API token is revoked after the request was authenticated, before the copy is written', async () => {
    const { org, person, tokenId } = await staff();
    const res = await upload(t.app, person, org.collections.payroll!, 'source.txt', 'to be copied\n');
    expect(res.statusCode, res.body).toBe(201);
    // The actor as the REST route builds it from the token; the token is revoked before the copy's bytes are copied.
    const { user, credential } = await t.vault.identity.authenticateSecret(person.token, ['api_token']);
    expect(credential).toEqual({ kind: 'api_token', id: tokenId, scope: 'full' });
    const actor = actorFor(user, { channel: 'api', clientAddress: '192.0.2.71', requestId: null }, credential);
    await t.vault.credentials.revokeCredential(actor, tokenId);
    const blobsBefore = await blobs();

    const error = await t.vault.filing.copy(actor, res.json().id as string, { collectionId: org.collections.hr!, name: 'copied.txt' }).then(() => null, (e: unknown) => e) as DomainError;
    expect(error).toBeInstanceOf(DomainError);
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(await t.vault.store.repos.documents.byName(org.collections.hr!, 'copied.txt')).toBeUndefined();
    expect(await blobs()).toBe(blobsBefore);
    expect(await refusals(person.id, 'document.create')).toEqual([{ decision: 'deny', reason: 'credential_revoked', channel: 'api' }]);
  });
});
