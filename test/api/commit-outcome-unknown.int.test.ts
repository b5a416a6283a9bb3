// A write whose COMMIT lost its connection: the client cannot know whether PostgreSQL committed it (the
// server may have received the COMMIT and finish it after the client gave up, a fraction of a second
// later, or seconds later with synchronous replication). The stored blob must stay: a check made at
// once ("is the version there?") can run before that commit becomes visible, and deleting the blob
// then leaves a committed version with no bytes. The orphan sweep removes it later if nothing names it
// (services/orphan-blobs.service.ts, fenced). Here the COMMIT of the write that inserts a version is
// swapped for a ROLLBACK below Kysely and reported as pg reports a connection that ended under it (and
// the client refuses every later query, Kysely's ROLLBACK too): the outcome unknown to the vault, and no
// version visible when it looks.
// PostgreSQL only: SQLite runs in the process, so its commit's outcome is always known.
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { blobFilesUnder } from '../support/blob-files.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { auth, createOrganisation, upload, type TestUser } from '../support/vault.js';
import { systemActor } from '../../src/services/identity.service.js';
import { dav, davUser } from '../webdav/support.js';

const clamd = useClamd();

/** Clients whose open transaction inserted a version; armed: their COMMIT is lost. */
const wroteVersion = new WeakSet<object>();
let armed = false;
const clientQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text: string };
  const text = (typeof first === 'string' ? first : first.text).trim().toLowerCase();
  if (text.startsWith('insert into "versions"')) wroteVersion.add(this);
  if (text === 'commit' && armed && wroteVersion.has(this)) {
    wroteVersion.delete(this);
    armed = false;
    return (clientQuery.call(this, 'rollback') as Promise<unknown>).then(() => {
      // As pg leaves a client whose connection ended: every later query (Kysely's ROLLBACK) is refused.
      (this as unknown as { _queryable: boolean })._queryable = false;
      throw new Error('Connection terminated unexpectedly');
    });
  }
  if (text === 'commit' || text === 'rollback') wroteVersion.delete(this);
  return clientQuery.apply(this, args);
} as typeof pg.Client.prototype.query;
afterAll(() => {
  pg.Client.prototype.query = clientQuery as typeof pg.Client.prototype.query;
});

describe('a write whose commit lost its connection (PostgreSQL)', () => {
  const t = useTestVault('postgres', clamd);
  const blobs = () => blobFilesUnder(join(t.dataDir, 'blobs'));

  it('REST upload: 503 "may or may not have been saved", and the stored blob is kept for the orphan sweep', async () => {
    const org = await createOrganisation(t.vault);
    const alice = await org.user({ roles: ['member'], teams: ['finance'] });
    const before = await blobs();
    armed = true;
    const res = await upload(t.app, alice, org.collections.finance!, 'lost-commit.txt', 'the minutes');
    expect(armed).toBe(false);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json<{ detail: string; commitOutcomeUnknown: boolean }>()).toMatchObject({
      detail: 'The database stopped answering while this change was being saved, so it may or may not have been saved. Look before trying again in a few seconds.',
      retryAfterSeconds: 5, commitOutcomeUnknown: true,
    });
    expect(await blobs()).toBe(before + 1);
  });

  /** A document alice uploaded, and `send` (about it) run with the next version-writing commit lost: 503, its blob kept. */
  async function losingTheCommitOf(send: (alice: TestUser, documentId: string, collectionId: string) => Promise<{ statusCode: number }>) {
    const org = await createOrganisation(t.vault);
    const alice = await org.user({ roles: ['member'], teams: ['finance'] });
    const first = await upload(t.app, alice, org.collections.finance!, 'budget.txt', 'v1');
    expect(first.statusCode).toBe(201);
    const before = await blobs();
    armed = true;
    const res = await send(alice, first.json<{ id: string }>().id, org.collections.finance!);
    expect(armed).toBe(false);
    expect(res.statusCode).toBe(503);
    expect(await blobs()).toBe(before + 1);
  }

  it('REST new version: the same', async () => {
    await losingTheCommitOf((alice, documentId) => t.app.inject({
      method: 'PUT', url: `/api/v1/documents/${documentId}/content`,
      headers: { ...auth(alice), 'content-type': 'application/octet-stream' }, payload: 'v2',
    }));
  });

  it('REST copy: the same', async () => {
    await losingTheCommitOf((alice, documentId, collectionId) => t.app.inject({
      method: 'POST', url: `/api/v1/documents/${documentId}/copy`,
      headers: auth(alice), payload: { collectionId, name: 'budget copy.txt' },
    }));
  });
});

describe('a WebDAV folder COPY whose commit lost its connection (PostgreSQL)', () => {
  const t = useTestVault('postgres', clamd, { listen: true });
  const base = () => `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;

  it('503, and every copied document\'s stored blob is kept for the orphan sweep', async () => {
    const org = await createOrganisation(t.vault);
    const member = await davUser(t.vault, org, { teams: ['hr'] });
    const folder = await t.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId: org.collections.hr!, name: 'case', serviceArea: 'hr', classification: 'OFFICIAL' });
    for (const name of ['a.txt', 'b.txt']) expect((await upload(t.app, member, folder.id, name, `the ${name}`)).statusCode).toBe(201);
    const before = await blobFilesUnder(join(t.dataDir, 'blobs'));
    const root = `/dav/${org.slug}/hr`;
    armed = true;
    const res = await dav(base(), 'COPY', `${root}/case`, { user: member, headers: { destination: `${base()}${root}/case copy`, overwrite: 'F' } });
    expect(armed).toBe(false);
    expect(res.status).toBe(503);
    expect(await blobFilesUnder(join(t.dataDir, 'blobs'))).toBe(before + 2);
  });
});
