// An upload decided on before its bytes arrived is decided again once they have: a partner whose
// arrangement is suspended while the body is still
// arriving stores nothing — no document, no version, no blob left behind — and its admission slot is
// given back, on both dialects; a partner's new version the same (deletions and moves meanwhile:
// test/api/version-meanwhile.int.test.ts). The uploader is read again too: one switched off, or whose
// team was taken away, while the body arrives stores nothing either (every interface uploads through
// these two service methods).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createPartnership, upload } from '../support/vault.js';
import { blobFilesUnder } from '../support/blob-files.js';

const clamd = useClamd();

describe.each(DIALECTS)('an upload arriving while the uploader’s access changes, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  async function partnership() {
    const { host, partner, arrangement } = await createPartnership(t.vault, { accessLevel: 'contribute', ceiling: 'OFFICIAL-SENSITIVE' });
    const staff = await host.user({ teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    const actor = actorFor((await t.vault.identity.userById(staff.id))!, { channel: 'api', clientAddress: null, requestId: null });
    return { host, partner, arrangement, staff, actor };
  }

  async function slotsHeld(): Promise<number> {
    return (await t.vault.store.repos.uploadSlots.live(new Date().toISOString())).length;
  }

  /** Uploads `name` into `collectionId`, running `meanwhile` after the first bytes and before the rest. */
  async function uploadWhile(actor: Parameters<typeof t.vault.documents.upload>[0], collectionId: string, name: string, meanwhile: () => Promise<void>) {
    const blobsBefore = await blobFilesUnder(join(t.dataDir, 'blobs'));
    async function* body() {
      yield Buffer.from('first bytes, ');
      await meanwhile();
      yield Buffer.from('arriving late\n');
    }
    const error = await t.vault.documents.upload(actor, collectionId, { name, body: body() }).then(() => null, (e: unknown) => e);
    expect(await t.vault.store.repos.documents.byName(collectionId, name)).toBeUndefined();
    expect(await blobFilesUnder(join(t.dataDir, 'blobs'))).toBe(blobsBefore);
    expect(await slotsHeld()).toBe(0);
    return error as DomainError;
  }

  it('refuses a partner’s upload when the arrangement is suspended while its body arrives', async () => {
    const { partner, arrangement, actor } = await partnership();
    const error = await uploadWhile(actor, partner.collections.payroll!, 'late.txt', async () => {
      await t.vault.arrangements.suspend(systemActor(), arrangement.id);
    });
    expect(error).toBeInstanceOf(DomainError);
    expect({ code: error.code, message: error.message }).toEqual({ code: 'NOT_FOUND', message: 'No collection with that id exists, or you do not have access to it.' });
  });

  it('refuses a partner’s new version when the arrangement is suspended while its body arrives', async () => {
    const { partner, arrangement, staff, actor } = await partnership();
    const res = await upload(t.app, staff, partner.collections.payroll!, 'theirs.txt', 'first\n');
    expect(res.statusCode, res.body).toBe(201);
    const documentId = res.json().id as string;
    const blobsBefore = await blobFilesUnder(join(t.dataDir, 'blobs'));
    async function* body() {
      yield Buffer.from('second, ');
      await t.vault.arrangements.suspend(systemActor(), arrangement.id);
      yield Buffer.from('arriving late\n');
    }
    const error = await t.vault.documents.uploadVersion(actor, documentId, { body: body() }).then(() => null, (e: unknown) => e) as DomainError;
    expect(error).toBeInstanceOf(DomainError);
    expect({ code: error.code, message: error.message }).toEqual({ code: 'NOT_FOUND', message: 'No document with that id exists, or you do not have access to it.' });
    expect((await t.vault.store.repos.documents.versions(documentId)).map((v) => v.number)).toEqual([1]);
    expect(await blobFilesUnder(join(t.dataDir, 'blobs'))).toBe(blobsBefore);
    expect(await slotsHeld()).toBe(0);
  });

  it('still stores a partner’s upload when nothing changed meanwhile, and gives its slot back', async () => {
    const { partner, staff } = await partnership();
    const res = await upload(t.app, staff, partner.collections.payroll!, 'fine.txt', 'all here\n');
    expect(res.statusCode, res.body).toBe(201);
    expect(await slotsHeld()).toBe(0);
  });

  /** A member of the host's own payroll team, and their actor as it was when the request began. */
  async function ownStaff() {
    const { host } = await partnership();
    const staff = await host.user({ teams: ['payroll'] });
    const actor = actorFor((await t.vault.identity.userById(staff.id))!, { channel: 'api', clientAddress: '192.0.2.70', requestId: null });
    return { host, staff, actor };
  }
  const refusals = async (userId: string, action: string) => (await t.vault.store.db.selectFrom('audit_events').select(['decision', 'reason']).where('action', '=', action).where('actor_user_id', '=', userId).execute())
    .filter((e) => e.decision === 'deny');

  it('refuses an upload whose uploader is switched off while its body arrives, and audits the refusal', async () => {
    const { host, staff, actor } = await ownStaff();
    const error = await uploadWhile(actor, host.collections.payroll!, 'after-leaving.txt', async () => {
      await t.vault.people.setDisabled(systemActor(), staff.id, true);
    });
    expect({ code: error.code, message: error.message }).toEqual({ code: 'UNAUTHENTICATED', message: 'Your account was switched off while this was being sent, so nothing was saved.' });
    expect(await refusals(staff.id, 'document.create')).toEqual([{ decision: 'deny', reason: 'account_disabled' }]);
  });

  it('refuses an upload whose uploader loses the team while its body arrives', async () => {
    const { host, staff, actor } = await ownStaff();
    const error = await uploadWhile(actor, host.collections.payroll!, 'after-team-removed.txt', async () => {
      await t.vault.people.update(systemActor(), staff.id, { teams: [] });
    });
    expect({ code: error.code, message: error.message }).toEqual({ code: 'NOT_FOUND', message: 'No collection with that id exists, or you do not have access to it.' });
    expect(await refusals(staff.id, 'document.create')).toHaveLength(1);
  });

  it('refuses a new version whose uploader is switched off while its body arrives', async () => {
    const { host, staff, actor } = await ownStaff();
    const res = await upload(t.app, staff, host.collections.payroll!, 'mine.txt', 'first\n');
    expect(res.statusCode, res.body).toBe(201);
    const documentId = res.json().id as string;
    const blobsBefore = await blobFilesUnder(join(t.dataDir, 'blobs'));
    async function* body() {
      yield Buffer.from('second, ');
      await t.vault.people.setDisabled(systemActor(), staff.id, true);
      yield Buffer.from('arriving late\n');
    }
    const error = await t.vault.documents.uploadVersion(actor, documentId, { body: body() }).then(() => null, (e: unknown) => e) as DomainError;
    expect(error).toBeInstanceOf(DomainError);
    expect(error.code).toBe('UNAUTHENTICATED');
    expect((await t.vault.store.repos.documents.versions(documentId)).map((v) => v.number)).toEqual([1]);
    expect(await blobFilesUnder(join(t.dataDir, 'blobs'))).toBe(blobsBefore);
    expect(await slotsHeld()).toBe(0);
    expect(await refusals(staff.id, 'document.version')).toEqual([{ decision: 'deny', reason: 'account_disabled' }]);
  });
});
