// A copy decided on before its bytes were read is decided again once they have been: a partner whose
// arrangement is suspended while the copy's bytes are on their way (a partner's document copied home,
// or a document copied into a partner's collection) stores nothing — no document, no blob left behind —
// and gives its admission slot back, on both dialects. The same for a new document is
// test/api/upload-meanwhile.int.test.ts, for a new version test/api/version-meanwhile.int.test.ts.
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { EncryptedBlobs } from '../../src/domain/ports.js';
import { DomainError } from '../../src/domain/errors.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createPartnership, upload } from '../support/vault.js';
import { blobFilesUnder } from '../support/blob-files.js';
import { eventsOf } from '../support/audit-log.js';
import { beforeNextTransaction } from '../support/meanwhile.js';

const clamd = useClamd();

describe.each(DIALECTS)('a copy whose bytes arrive while the copier’s access changes, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  async function partnership() {
    const world = await createPartnership(t.vault, { accessLevel: 'contribute', ceiling: 'OFFICIAL-SENSITIVE' });
    const staff = await world.host.user({ teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    const partnerMember = await world.partner.user({ teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    const actor = actorFor((await t.vault.identity.userById(staff.id))!, { channel: 'api', clientAddress: null, requestId: null });
    return { ...world, staff, partnerMember, actor };
  }

  /**
   * Copies with the source's bytes paused after they were read and before their end, running `meanwhile`
   * there: the real blob service's stream, held at the point a large file would still be arriving.
   */
  async function copyWhile(actor: Parameters<typeof t.vault.filing.copy>[0], sourceId: string, collectionId: string, meanwhile: () => Promise<void>) {
    // The filing service's own blob service (private to it; no other handle reaches the same instance).
    const blobs = (t.vault.filing as unknown as { o: { blobs: EncryptedBlobs } }).o.blobs;
    const original = blobs.openRange;
    blobs.openRange = async (...args) => {
      const real = await original.apply(blobs, args);
      return Readable.from((async function* () {
        for await (const chunk of real) yield chunk as Buffer;
        await meanwhile();
      })());
    };
    const blobsBefore = await blobFilesUnder(join(t.dataDir, 'blobs'));
    try {
      const error = await t.vault.filing.copy(actor, sourceId, { collectionId, name: 'copied.txt' }).then(() => null, (e: unknown) => e);
      expect(await t.vault.store.repos.documents.byName(collectionId, 'copied.txt')).toBeUndefined();
      expect(await blobFilesUnder(join(t.dataDir, 'blobs'))).toBe(blobsBefore);
      expect(await t.vault.store.repos.uploadSlots.live(new Date().toISOString())).toEqual([]);
      return error as DomainError;
    } finally {
      blobs.openRange = original;
    }
  }

  it('refuses to copy a partner’s document home when the arrangement is suspended while its bytes are read', async () => {
    const { host, partner, arrangement, partnerMember, actor } = await partnership();
    const res = await upload(t.app, partnerMember, partner.collections.payroll!, 'theirs.txt', 'partner payroll\n');
    expect(res.statusCode, res.body).toBe(201);
    const error = await copyWhile(actor, res.json().id as string, host.collections.payroll!, async () => {
      await t.vault.arrangements.suspend(systemActor(), arrangement.id);
    });
    expect(error).toBeInstanceOf(DomainError);
    expect({ code: error.code, message: error.message }).toEqual({ code: 'NOT_FOUND', message: 'No document with that id exists, or you do not have access to it.' });
  });

  it('refuses to copy into a partner’s collection when the arrangement is suspended while the bytes are read', async () => {
    const { host, partner, arrangement, staff, actor } = await partnership();
    const res = await upload(t.app, staff, host.collections.payroll!, 'ours.txt', 'host payroll\n');
    expect(res.statusCode, res.body).toBe(201);
    const error = await copyWhile(actor, res.json().id as string, partner.collections.payroll!, async () => {
      await t.vault.arrangements.suspend(systemActor(), arrangement.id);
    });
    expect(error).toBeInstanceOf(DomainError);
    expect({ code: error.code, message: error.message }).toEqual({ code: 'NOT_FOUND', message: 'No collection with that id exists, or you do not have access to it.' });
  });

  it('refuses to copy a partner’s document home when the arrangement is suspended after the bytes were decided on, before the copy commits', async () => {
    const { host, partner, arrangement, partnerMember, actor } = await partnership();
    const res = await upload(t.app, partnerMember, partner.collections.payroll!, 'theirs-late.txt', 'partner payroll, late\n');
    expect(res.statusCode, res.body).toBe(201);
    let meanwhile: ReturnType<typeof beforeNextTransaction> | undefined;
    // Armed once the source's bytes have all been read: the suspension commits between the decisions made
    // again after reading and the transaction that writes the copy.
    const error = await copyWhile(actor, res.json().id as string, host.collections.payroll!, async () => {
      meanwhile = beforeNextTransaction(t.vault.store, () => t.vault.arrangements.suspend(systemActor(), arrangement.id));
    });
    expect(meanwhile?.ran()).toBe(true);
    expect(error).toBeInstanceOf(DomainError);
    expect({ code: error.code, message: error.message }).toEqual({ code: 'NOT_FOUND', message: 'No document with that id exists, or you do not have access to it.' });
    const denied = (await eventsOf(t.vault, actor.userId!, { deny: true })).map((e) => ({ action: e.action, reason: e.reason }));
    expect(denied).toEqual([{ action: 'document.download', reason: 'no_arrangement' }]);
  });
});
