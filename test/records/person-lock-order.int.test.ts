// One person's two changes to one record at the same moment: renaming it (decided again under the document's row
// lock, on the person as that transaction reads them) and placing a legal hold over it (changeDecidedWithin: the
// person's row locked, then the document's). Every change takes the person first and then the rows
// (AccessService.holdActing), so the second queues at the person's row behind the first; had the rename locked the
// document before the person, each would hold what the other waits for, and PostgreSQL would end one of them as a
// deadlock (503, try again). Made deterministic: the rename's transaction is held just after it locked the
// document, until the hold's transaction is seen waiting for a lock (PostgreSQL); then both must go through.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HoldsRepo } from '../../src/db/repos/holds.repo.js';
import { actorFor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();
const REQUEST = { channel: 'api' as const, clientAddress: null, requestId: null };

describe.each(DIALECTS)('one person renaming a record while placing a hold over it, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  afterEach(() => vi.restoreAllMocks());

  /** Whether a transaction of this test's database waits for a lock (PostgreSQL); others' databases are not looked at. */
  const waitingForALock = async (): Promise<boolean> => Number((await sql<{ n: string }>`
    select count(*) as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where not l.granted and a.datname = current_database()`.execute(t.vault.store.db)).rows[0]!.n) > 0;

  it('both go through: the hold waits at the person’s row for the rename, never holding the person while the rename waits for it', async () => {
    const org = await createOrganisation(t.vault);
    const person = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const uploaded = await upload(t.app, person, org.collections.hr!, 'grievance.txt', 'grievance notes\n');
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const documentId = uploaded.json().id as string;
    const actor = actorFor((await t.vault.identity.userById(person.id))!, REQUEST);

    // The rename's transaction stops just after it locked the document, until let go.
    let lockedDocument!: () => void;
    const documentLocked = new Promise<void>((resolve) => { lockedDocument = resolve; });
    let letGo!: () => void;
    const released = new Promise<void>((resolve) => { letGo = resolve; });
    const lockForChanging = HoldsRepo.prototype.lockForChanging;
    vi.spyOn(HoldsRepo.prototype, 'lockForChanging').mockImplementationOnce(async function (this: HoldsRepo, places) {
      await lockForChanging.call(this, places);
      lockedDocument();
      await released;
    });

    const renaming = t.vault.filing.move(actor, documentId, { name: 'grievance-2026.txt' });
    renaming.catch(() => undefined);
    await documentLocked;
    const holding = t.vault.holds.createOver(actor, { name: `Smith v Council ${randomUUID().slice(0, 4)}`, reason: 'Employment tribunal claim' }, { documentIds: [documentId] });
    holding.catch(() => undefined);
    // On PostgreSQL the hold's transaction is let run until it waits for a lock the rename holds (SQLite's one
    // writer queues it behind the rename's transaction instead).
    if (t.vault.store.caps.dialect === 'postgres') {
      for (let tries = 0; !(await waitingForALock()) && tries < 500; tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await waitingForALock()).toBe(true);
    }
    letGo();

    const outcomes = await Promise.allSettled([renaming, holding]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? 'done' : `${(o.reason as { code?: string }).code}: ${(o.reason as Error).message}`))).toEqual(['done', 'done']);
    expect((await t.vault.store.repos.documents.byId(documentId))?.name).toBe('grievance-2026.txt');
    expect((await t.vault.store.repos.holds.activeForDocuments([documentId])).get(documentId)?.length).toBe(1);
  });
});
