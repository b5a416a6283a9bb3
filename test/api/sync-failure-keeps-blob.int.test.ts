// A write whose commit went through but whose sync then failed (SQLite's group commit: the fsync of the
// write-ahead log) is refused to the client, yet its rows may survive: its blob must not be removed as
// if the transaction had rolled back, or a committed version would have no bytes. Only SQLite syncs the
// log itself; PostgreSQL's commit waits for its own WAL flush, so there is no such failure to provoke.
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorFor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { createOrganisation, openTestVault, type TestVault } from '../support/vault.js';
import { blobFilesUnder } from '../support/blob-files.js';

const clamd = useClamd();

describe('a write whose sync fails after its commit, on sqlite', () => {
  let t: TestVault;
  let failing = false;
  beforeAll(async () => {
    t = await openTestVault({
      dialect: 'sqlite', clamdSocket: clamd.socketPath,
      syncDatabaseLog: async () => {
        if (failing) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      },
    });
  });
  afterAll(async () => {
    failing = false;
    await t?.close().catch(() => undefined);
  });

  it('keeps the blob of a version whose commit went through', async () => {
    const org = await createOrganisation(t.vault);
    const member = await org.user({ teams: ['finance'] });
    const actor = actorFor((await t.vault.identity.userById(member.id))!, { channel: 'api', clientAddress: null, requestId: null });
    const first = await t.vault.documents.upload(actor, org.collections.finance!, { name: 'kept.txt', body: Readable.from([Buffer.from('one\n')]) });
    const blobsBefore = await blobFilesUnder(join(t.dataDir, 'blobs'));
    failing = true;
    const error = await t.vault.documents.uploadVersion(actor, first.document.id, { body: Readable.from([Buffer.from('two\n')]) }).then(() => null, (e: unknown) => e);
    expect((error as Error | null)?.name).toBe('DurabilityLostError');
    const versions = await t.vault.store.repos.documents.versions(first.document.id);
    expect(versions.map((v) => v.number)).toEqual([1, 2]);
    // The committed version's bytes are still there.
    expect(await blobFilesUnder(join(t.dataDir, 'blobs'))).toBe(blobsBefore + 1);
  });
});
