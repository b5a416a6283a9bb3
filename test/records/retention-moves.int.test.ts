// "A change never shortens a period silently" (docs/records.md), for moves: a document's retention derives
// from where it is filed, so moving a document, or a folder with everything in it, under a collection filed
// under a shorter series is refiling by another name. It is refused (409, audited) until a records manager
// confirms it, on REST, the web page and the CLI alike; WebDAV cannot confirm, so its MOVE is refused (409).
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ukDate } from '../../src/domain/records/retention.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { fileCollectionUnder } from '../support/records.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';
import { FormClient, addPerson, enrolTotp } from '../ui/support.js';
import { dav, davUser } from '../webdav/support.js';

const clamd = useClamd();

const SHORTER = (n: number) => `Moving it brings the due date of ${n} document${n === 1 ? '' : 's'} earlier: the place it goes to is filed under a record series with a shorter period, or a trigger event there is dated earlier. `
  + 'A records manager must check the new due dates and confirm the move for it to go ahead.';

describe.each(DIALECTS)('moves that shorten retention on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });

  /** Two HR folders, one kept 50 years and one 0 years; a records manager and an HR member. */
  async function council() {
    const org = await createOrganisation(t.vault);
    const mk = (name: string, parentId = org.collections.hr!) => t.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId, name, serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE' });
    const long = await mk('personnel-files');
    const short = await mk('misc-drafts');
    await fileCollectionUnder(t.vault, org.id, long.id, { code: 'HR-LONG', trigger: 'created', retainYears: 50, action: 'destroy', serviceArea: 'hr' });
    await fileCollectionUnder(t.vault, org.id, short.id, { code: 'HR-ZERO', trigger: 'created', retainYears: 0, action: 'destroy', serviceArea: 'hr' });
    const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const member = await davUser(t.vault, org, { teams: ['hr'] });
    return { org, long, short, manager, member, mk };
  }

  async function file(user: Parameters<typeof upload>[1], collectionId: string, name: string): Promise<string> {
    const res = await upload(t.app, user, collectionId, name, `${name}\n`);
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  }

  async function events(organisationId: string, action: string) {
    await t.vault.audit.sequencer.flush();
    return (await t.vault.store.repos.audit.forOrganisation(organisationId)).filter((e) => e.action === action).map((e) => ({ decision: e.decision, reason: e.reason, ids: e.targetIds }));
  }

  const retentionOf = async (user: Parameters<typeof api>[1], id: string) => (await api(t.app, user).get(`documents/${id}`)).json().retention as { series: string; dueAt: string };

  it('refuses a member\'s move of a document under a shorter series (409, audited), lets only a records manager confirm it, and records the due dates moved', async () => {
    const { org, long, short, manager, member } = await council();
    const id = await file(member, long.id, 'personnel-file-smith.txt');
    const before = await retentionOf(manager, id);
    expect(before.series).toBe('HR-LONG');

    expect(expectProblem(await api(t.app, member).patch(`documents/${id}`, { collectionId: short.id }), 409).detail).toBe(SHORTER(1));
    expect(await retentionOf(manager, id)).toMatchObject({ series: 'HR-LONG', dueAt: before.dueAt });
    expect((await t.vault.store.repos.documents.byId(id))!.collectionId).toBe(long.id);
    // A member cannot confirm it: that is the file plan's authority (decide(): records.file-plan), refused plainly and audited.
    expectProblem(await api(t.app, member).patch(`documents/${id}`, { collectionId: short.id, confirmShorter: true }), 403);
    expect(await events(org.id, 'document.move')).toEqual([{ decision: 'deny', reason: 'retention_shortened', ids: { documentId: id, collectionId: short.id, movedEarlier: '1' } }]);
    expect((await events(org.id, 'records.file-plan')).filter((e) => e.ids.documentId === id))
      .toEqual([{ decision: 'deny', reason: 'role', ids: { documentId: id, collectionId: short.id, confirmShorter: 'true' } }]);

    // The records manager confirms: moved, and the event says how many due dates moved which way.
    expect((await api(t.app, manager).patch(`documents/${id}`, { collectionId: short.id, confirmShorter: true })).statusCode).toBe(200);
    expect(await retentionOf(manager, id)).toMatchObject({ series: 'HR-ZERO', dueAt: ukDate(new Date()) });
    expect((await events(org.id, 'document.move')).filter((e) => e.decision === 'allow'))
      .toEqual([{ decision: 'allow', reason: 'own_team', ids: { documentId: id, collectionId: short.id, classification: (await t.vault.store.repos.documents.byId(id))!.classification, movedEarlier: '1', movedLater: '0' } }]);
    // Back to the longer series: a later due date needs no confirmation, and a member may do it.
    expect((await api(t.app, member).patch(`documents/${id}`, { collectionId: long.id })).statusCode).toBe(200);
    expect((await events(org.id, 'document.move')).filter((e) => e.decision === 'allow').at(-1)!.ids).toMatchObject({ movedEarlier: '0', movedLater: '1' });
  });

  it('refuses moving a folder of long-kept records under a shorter series until a records manager confirms it', async () => {
    const { org, long, short, manager, member, mk } = await council();
    const folder = await mk('case-2019', long.id);
    const ids = [await file(member, folder.id, 'a.txt'), await file(member, folder.id, 'b.txt')];
    expect(expectProblem(await api(t.app, member).patch(`collections/${folder.id}`, { parentId: short.id }), 409).detail).toBe(SHORTER(2));
    for (const id of ids) expect((await retentionOf(manager, id)).series).toBe('HR-LONG');
    expect((await t.vault.store.repos.collections.byId(folder.id))!.parentId).toBe(long.id);
    expect(await events(org.id, 'collection.move')).toEqual([{ decision: 'deny', reason: 'retention_shortened', ids: { collectionId: folder.id, parentId: short.id, movedEarlier: '2' } }]);
    expectProblem(await api(t.app, member).patch(`collections/${folder.id}`, { parentId: short.id, confirmShorter: true }), 403);

    expect((await api(t.app, manager).patch(`collections/${folder.id}`, { parentId: short.id, confirmShorter: true })).statusCode).toBe(200);
    for (const id of ids) expect(await retentionOf(manager, id)).toMatchObject({ series: 'HR-ZERO', dueAt: ukDate(new Date()) });
    expect((await events(org.id, 'collection.move')).filter((e) => e.decision === 'allow').map((e) => e.ids))
      .toEqual([{ collectionId: folder.id, parentId: short.id, classification: (await t.vault.store.repos.collections.byId(folder.id))!.classification, movedEarlier: '2', movedLater: '0' }]);
  });

  it('refuses the same moves over WebDAV (409 with the reason as the body: MOVE cannot confirm) and on the web page until the records manager ticks the confirmation', async () => {
    const { org, long, short, manager, member, mk } = await council();
    const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const id = await file(member, long.id, 'contract.txt');
    const folder = await mk('case-2020', long.id);
    await file(member, folder.id, 'c.txt');
    const root = `/dav/${org.slug}/hr`;
    for (const [from, to] of [[`personnel-files/contract.txt`, 'misc-drafts/contract.txt'], ['personnel-files/case-2020', 'misc-drafts/case-2020']] as const) {
      const res = await dav(base, 'MOVE', `${root}/${from}`, { user: member, headers: { destination: `${base}${root}/${to}` } });
      expect(res.status).toBe(409);
      expect(res.body).toBe(`${SHORTER(1)}\n`);
    }
    expect((await t.vault.store.repos.documents.byId(id))!.collectionId).toBe(long.id);
    expect((await t.vault.store.repos.collections.byId(folder.id))!.parentId).toBe(long.id);

    // The web page: refused with the reason in the error summary; the records manager's confirmation box lets it through.
    const person = await addPerson(t.vault, org.slug, { roles: ['records_manager'], teams: ['hr'] });
    const client = new FormClient(base);
    await client.signIn(person.email, undefined, await enrolTotp(t.vault, person.id));
    const page = await client.get(`/documents/${id}`);
    expect(page.text).toContain('name="confirmShorter"');
    const refused = await client.post(`/documents/${id}/rename`, { _csrf: FormClient.csrf(page.text), name: 'contract.txt', collectionId: short.id });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('govuk-error-summary');
    expect(refused.text).toContain('Moving it brings the due date of 1 document earlier');
    const confirmed = await client.post(`/documents/${id}/rename`, { _csrf: FormClient.csrf(page.text), name: 'contract.txt', collectionId: short.id, confirmShorter: 'yes' });
    expect(confirmed.status).toBe(303);
    expect((await retentionOf(manager, id)).series).toBe('HR-ZERO');
  });
});
