// A folder created filed under a record series (POST /api/v1/collections with a series) is all or nothing: the
// filing is decided before the creating transaction and decided again inside it, on the creator as that
// transaction reads them (services/decided-within.ts). A records manager or org admin whose role an org admin took
// away, or whom an org admin switched off, between the first decision and that transaction (test/support/meanwhile.ts)
// is answered the refusal, which is their only event, and no folder is left without the series it was asked for.
// Nothing meanwhile: the folder and its series are written together, each with its event. On both dialects.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { eventsOf } from '../support/audit-log.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { beforeNextTransaction, changePerson, type ChangeMeanwhile } from '../support/meanwhile.js';
import { DIALECTS, createOrganisation, type TestOrganisation, type TestUser } from '../support/vault.js';

const clamd = useClamd();

/** Who creates the folder, and where: at the top level, or inside the council's HR folder. */
interface Creator {
  name: string;
  roles: string[];
  inside: 'top level' | 'hr';
}

const CREATORS: Creator[] = [
  { name: 'a records manager, at the top level', roles: ['records_manager'], inside: 'top level' },
  { name: 'a records manager in the HR team, inside HR', roles: ['records_manager'], inside: 'hr' },
  { name: 'an org admin, at the top level', roles: ['org_admin'], inside: 'top level' },
];

/** What each change meanwhile answers, and the reason its refusal is audited with. */
const REFUSALS: Record<ChangeMeanwhile, { status: number; detail: string; reason: string }> = {
  'role removed': { status: 404, detail: 'No file plan with that id exists, or you do not have access to it.', reason: 'role' },
  'switched off': { status: 401, detail: 'Your account was switched off while this was being sent, so nothing was saved.', reason: 'account_disabled' },
};

describe.each(DIALECTS)('a folder created filed under a series, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  afterEach(() => vi.restoreAllMocks());

  async function council(creator: Creator): Promise<{ org: TestOrganisation; admin: TestUser; person: TestUser; body: Record<string, unknown> }> {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['org_admin'] });
    const person = await org.user({ roles: creator.roles, teams: ['hr'] });
    const body = {
      name: `Personnel file ${randomUUID().slice(0, 8)}`, serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE', series: 'HR-01',
      ...(creator.inside === 'hr' ? { parentId: org.collections.hr } : {}),
    };
    return { org, admin, person, body };
  }

  const foldersNamed = async (name: string) => t.vault.store.db.selectFrom('collections').select(['id', 'series_code']).where('name', '=', name).execute();

  describe.each(CREATORS)('by $name', (creator) => {
    it.each(Object.keys(REFUSALS) as ChangeMeanwhile[])('refuses it whole when the creator is %s meanwhile: no folder, the refusal their only event', async (change) => {
      const { admin, person, body } = await council(creator);
      const before = (await eventsOf(t.vault, person.id)).length;
      const meanwhile = beforeNextTransaction(t.vault.store, () => changePerson(t.vault, admin.id, person.id, change));
      const res = await api(t.app, person).post('collections', body).finally(() => meanwhile.restore());
      expect(meanwhile.ran()).toBe(true);
      const { status, detail, reason } = REFUSALS[change];
      expect({ status: res.statusCode, detail: res.json().detail }).toEqual({ status, detail });
      expect(await foldersNamed(body.name as string)).toEqual([]);
      const events = (await eventsOf(t.vault, person.id)).slice(before).map((e) => ({ action: e.action, decision: e.decision, reason: e.reason, ids: e.targetIds }));
      expect(events).toEqual([{ action: 'records.collection.series', decision: 'deny', reason, ids: { seriesCode: 'HR-01' } }]);
    });

    it('creates the folder and files it in one go when nothing changed meanwhile, each with its event', async () => {
      const { person, body } = await council(creator);
      const res = await api(t.app, person).post('collections', body);
      expect(res.statusCode, res.body).toBe(201);
      const id = res.json().id as string;
      expect(res.json()).toMatchObject({ id, name: body.name, series: 'HR-01' });
      expect(await foldersNamed(body.name as string)).toEqual([{ id, series_code: 'HR-01' }]);
      const events = (await eventsOf(t.vault, person.id)).filter((e) => e.targetIds.collectionId === id).map((e) => ({ action: e.action, decision: e.decision }));
      expect(events).toEqual([{ action: 'collection.create', decision: 'allow' }, { action: 'records.collection.series', decision: 'allow' }]);
    });
  });
});
