// A new version decided on before its bytes arrived is decided again on the document as it is when
// they have: a deletion or a move out of the uploader's reach made meanwhile wins, nothing is stored
// (no version row, no blob left behind), on both dialects.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';
import { blobFilesUnder } from '../support/blob-files.js';

const clamd = useClamd();

describe.each(DIALECTS)('a new version arriving while its document changes, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  async function setting() {
    const org = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL', hr: 'OFFICIAL' } });
    const member = await org.user({ teams: ['finance'], clearance: 'OFFICIAL' });
    const res = await upload(t.app, member, org.collections.finance!, `v-${Math.random().toString(36).slice(2)}.txt`, 'first\n');
    expect(res.statusCode, res.body).toBe(201);
    const actor = actorFor((await t.vault.identity.userById(member.id))!, { channel: 'api', clientAddress: null, requestId: null });
    return { org, actor, documentId: res.json().id as string };
  }

  async function versionWhile(actor: Parameters<typeof t.vault.documents.uploadVersion>[0], documentId: string, meanwhile: () => Promise<void>) {
    const blobsBefore = await blobFilesUnder(join(t.dataDir, 'blobs'));
    async function* body() {
      yield Buffer.from('second, ');
      await meanwhile();
      yield Buffer.from('arriving late\n');
    }
    const error = await t.vault.documents.uploadVersion(actor, documentId, { body: body() }).then(() => null, (e: unknown) => e);
    expect((await t.vault.store.repos.documents.versions(documentId)).map((v) => v.number)).toEqual([1]);
    expect(await blobFilesUnder(join(t.dataDir, 'blobs'))).toBe(blobsBefore);
    return error as DomainError;
  }

  it('refuses a version for a document deleted while it arrived', async () => {
    const { actor, documentId } = await setting();
    const error = await versionWhile(actor, documentId, async () => {
      await t.vault.documents.remove(systemActor(), documentId);
    });
    expect(error).toBeInstanceOf(DomainError);
    expect({ code: error.code, message: error.message }).toEqual({ code: 'NOT_FOUND', message: 'No document with that id exists, or you do not have access to it.' });
  });

  it('refuses a version for a document moved out of the uploader’s reach while it arrived', async () => {
    const { org, actor, documentId } = await setting();
    const error = await versionWhile(actor, documentId, async () => {
      await t.vault.filing.move(systemActor(), documentId, { collectionId: org.collections.hr! });
    });
    expect(error).toBeInstanceOf(DomainError);
    expect({ code: error.code, message: error.message }).toEqual({ code: 'NOT_FOUND', message: 'No document with that id exists, or you do not have access to it.' });
  });
});
