// Two requests giving one name to a document in the same collection at once: the name is checked
// before an upload's bytes arrive, but those take a while, and another upload, a rename or a move may
// take the name meanwhile. The commit claims the name again (DocumentsRepository.claimName, ordered with
// every other claim of it on PostgreSQL), so the later request is refused exactly as a later duplicate
// is, and nothing of it is kept: no document, no blob. Without it, both were stored (two documents of
// one name, which no path can tell apart).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { blobFilesUnder } from '../support/blob-files.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';
import { raceAgainstUncommitted } from '../support/uncommitted-race.js';

const clamd = useClamd();

describe.each(DIALECTS)('one name taken by two requests at once, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  async function member() {
    const org = await createOrganisation(t.vault);
    const staff = await org.user({ teams: ['payroll'] });
    const actor = actorFor((await t.vault.identity.userById(staff.id))!, { channel: 'api', clientAddress: null, requestId: null });
    return { collectionId: org.collections.payroll!, staff, actor };
  }

  /** Uploads `name`, running `meanwhile` after its first bytes; what refused it. */
  async function uploadWhile(actor: ReturnType<typeof actorFor>, collectionId: string, name: string, meanwhile: () => Promise<void>) {
    async function* body() {
      yield Buffer.from('first bytes, ');
      await meanwhile();
      yield Buffer.from('arriving late\n');
    }
    return await t.vault.documents.upload(actor, collectionId, { name, body: body() }).then(() => null, (e: unknown) => e) as DomainError;
  }

  const named = async (collectionId: string, name: string) =>
    (await t.vault.store.repos.documents.inCollection(collectionId)).filter((d) => d.name === name).map((d) => d.id);

  it('refuses an upload whose name another upload took while its bytes arrived, as a later duplicate is, and keeps none of it', async () => {
    const { collectionId, staff, actor } = await member();
    let winner = '';
    const blobsBefore = await blobFilesUnder(join(t.dataDir, 'blobs'));
    const error = await uploadWhile(actor, collectionId, 'payslips.txt', async () => {
      const res = await upload(t.app, staff, collectionId, 'payslips.txt', 'the other upload\n');
      expect(res.statusCode, res.body).toBe(201);
      winner = res.json().id as string;
    });
    const later = await upload(t.app, staff, collectionId, 'payslips.txt', 'a later duplicate\n');
    expect(later.statusCode).toBe(409);
    expect(error).toBeInstanceOf(DomainError);
    expect({ code: error.code, message: error.message }).toEqual({ code: 'CONFLICT', message: later.json().detail });
    expect(await named(collectionId, 'payslips.txt')).toEqual([winner]);
    // The refused upload's own blob is gone; the winner's stays.
    expect(await blobFilesUnder(join(t.dataDir, 'blobs'))).toBe(blobsBefore + 1);
  });

  it('refuses an upload whose name a rename took while its bytes arrived', async () => {
    const { collectionId, staff, actor } = await member();
    const other = await upload(t.app, staff, collectionId, 'draft.txt', 'renamed meanwhile\n');
    expect(other.statusCode, other.body).toBe(201);
    const error = await uploadWhile(actor, collectionId, 'final.txt', async () => {
      await t.vault.filing.move(actor, other.json().id as string, { name: 'final.txt' });
    });
    expect({ code: error.code, message: error.message }).toEqual({ code: 'CONFLICT', message: 'A document called "final.txt" already exists in this collection. Upload a new version of it instead.' });
    expect(await named(collectionId, 'final.txt')).toEqual([other.json().id]);
  });

  it('tells an uploader whose clearance was lowered while the bytes arrived only that the name cannot be used', async () => {
    const org = await createOrganisation(t.vault);
    const collectionId = org.collections.finance!;
    const uploader = await org.user({ teams: ['finance'], clearance: 'OFFICIAL-SENSITIVE' });
    const other = await org.user({ teams: ['finance'], clearance: 'OFFICIAL-SENSITIVE' });
    const actor = actorFor((await t.vault.identity.userById(uploader.id))!, { channel: 'api', clientAddress: null, requestId: null });
    const error = await uploadWhile(actor, collectionId, 'appraisal.txt', async () => {
      const res = await t.app.inject({
        method: 'POST', url: `/api/v1/collections/${collectionId}/documents?name=appraisal.txt&classification=OFFICIAL-SENSITIVE`,
        headers: { authorization: `Bearer ${other.token}`, 'content-type': 'application/octet-stream' }, payload: 'above OFFICIAL\n',
      });
      expect(res.statusCode, res.body).toBe(201);
      await t.vault.people.update(systemActor(), uploader.id, { clearance: 'OFFICIAL' });
    });
    expect({ code: error.code, message: error.message }).toEqual({ code: 'CONFLICT', message: 'The name "appraisal.txt" cannot be used in this collection. Choose another name.' });
  });

  it('orders two transactions claiming one name: the second waits for the first, then sees its document', async () => {
    const { collectionId, staff } = await member();
    const res = await upload(t.app, staff, collectionId, 'before.txt', 'renamed in the first transaction\n');
    const documentId = res.json().id as string;
    const saw = await raceAgainstUncommitted(t.vault.store, async (repos) => {
      expect(await repos.documents.claimName(collectionId, 'after.txt')).toEqual([]);
      await repos.documents.update(documentId, { name: 'after.txt' }, new Date().toISOString());
    }, () => t.vault.store.transaction(async (repos) => (await repos.documents.claimName(collectionId, 'after.txt'))[0]?.id ?? null));
    expect(saw).toBe(documentId);
  });
});
