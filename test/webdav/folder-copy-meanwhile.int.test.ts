// A folder copy (WebDAV COPY of a collection) reads every document inside before its one transaction writes the
// copy. A partner's staff, served by two arrangements of one host (two joint workspaces for payroll), copy a folder
// out of the first workspace into the second; the first arrangement is suspended (or ended) after the documents'
// bytes were read and decided on, before the copy's transaction. The copy would land where they still read it, so
// reading each source is decided again in that transaction: nothing is copied, the refusal is audited, both dialects.
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import type { EncryptedBlobs } from '../../src/domain/ports.js';
import { actorFor } from '../../src/services/identity.service.js';
import { eventsOf } from '../support/audit-log.js';
import { blobFilesUnder } from '../support/blob-files.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { beforeNextTransaction } from '../support/meanwhile.js';
import { ARRANGEMENT_STOPS, twoJointWorkspaces } from '../support/shared-service.js';
import { DIALECTS, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('a folder copied out of a joint workspace while its arrangement stops, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  afterEach(() => vi.restoreAllMocks());

  async function world() {
    const { host, partner, first, firstWorkspace, secondWorkspace } = await twoJointWorkspaces(t.vault);
    const hostStaff = await host.user({ teams: ['payroll'], clearance: 'OFFICIAL' });
    const partnerStaff = await partner.user({ teams: ['payroll'], clearance: 'OFFICIAL' });
    const made = await api(t.app, hostStaff).post('collections', { parentId: firstWorkspace.id, name: 'March run', serviceArea: 'payroll', classification: 'OFFICIAL' });
    expect(made.statusCode, made.body).toBe(201);
    const folderId = made.json().id as string;
    const uploaded = await upload(t.app, hostStaff, folderId, 'payslips.txt', 'host payroll for the partner\n');
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const actor = actorFor((await t.vault.identity.userById(partnerStaff.id))!, { channel: 'webdav', clientAddress: null, requestId: null });
    return { host, first, secondWorkspace, partnerStaff, actor, folderId, documentId: uploaded.json().id as string };
  }

  describe.each(ARRANGEMENT_STOPS)('the first arrangement %s', (_stop, stopIt) => {
    it('copies nothing (404, audited) and leaves no bytes behind', async () => {
      const { host, first, secondWorkspace, partnerStaff, actor, folderId, documentId } = await world();
      // The filing service's own blob service: once the document's bytes are all read, the suspension is armed
      // for the next transaction, the folder copy's.
      const blobs = (t.vault.filing as unknown as { o: { blobs: EncryptedBlobs } }).o.blobs;
      const original = blobs.openRange;
      let meanwhile: ReturnType<typeof beforeNextTransaction> | undefined;
      blobs.openRange = async (...args) => {
        const real = await original.apply(blobs, args);
        return Readable.from((async function* () {
          for await (const chunk of real) yield chunk as Buffer;
          meanwhile = beforeNextTransaction(t.vault.store, () => stopIt(t.vault, first.id));
        })());
      };
      const blobsBefore = await blobFilesUnder(join(t.dataDir, 'blobs'));
      const collection = (await t.vault.store.repos.collections.byId(folderId))!;
      const error = await t.vault.dav.copyCollection(actor, collection, {
        top: { organisationId: host.id, name: 'March run copy', parentId: secondWorkspace.id, serviceArea: 'payroll', classification: 'OFFICIAL' }, recursive: true,
      }).then(() => null, (e: unknown) => e).finally(() => { blobs.openRange = original; });
      expect(meanwhile?.ran()).toBe(true);
      expect(error).toBeInstanceOf(DomainError);
      expect({ code: (error as DomainError).code, message: (error as DomainError).message })
        .toEqual({ code: 'NOT_FOUND', message: 'No document with that id exists, or you do not have access to it.' });
      expect(await t.vault.store.repos.collections.children(host.id, secondWorkspace.id)).toEqual([]);
      expect(await blobFilesUnder(join(t.dataDir, 'blobs'))).toBe(blobsBefore);
      const denied = (await eventsOf(t.vault, partnerStaff.id, { deny: true })).map((e) => ({ action: e.action, reason: e.reason, documentId: e.targetIds.documentId }));
      expect(denied).toEqual([{ action: 'document.download', reason: 'no_arrangement', documentId }]);
    });
  });
});
