// People's rows are locked in one order by every change (review of the SCIM last-admin change, 6 December
// 2026). A directory's group change that takes an org admin's role locks the organisation's enabled org admins
// in id order (keepingLastOrgAdmin); it used to do so after it had already written, and so locked, the rows of
// the group's other members, while an org admin switching someone off locks their own row and the person's in
// id order. An org admin (a1) switching off a person (a3) while the directory added a3 to the admin group and
// took a2 out of it: the directory held a3 and waited for a1, the admin held a1 and waited for a3, and
// PostgreSQL ended one of them (40P01, 503 "try again"). Now recomputeAccess locks everyone it will look at,
// with the enabled org admins when one of them is among them, in id order before it writes. PostgreSQL only:
// SQLite has one writer, so its transactions never wait on each other's rows. The interleaving is made
// certain by a third transaction holding the lowest admin's row (a0) until both requests are under way.
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { auth, createOrganisation } from '../support/vault.js';
import { scimRequester } from './support.js';
import { GROUP, PATCH } from '../support/scim-schemas.js';

const clamd = useClamd();

const t = useTestVault('postgres', clamd);

it('an org admin switching someone off while the directory moves people in and out of the admin group: both are done, neither ends the other', async () => {
  const org = await createOrganisation(t.vault);
  const made = await t.vault.scim.tokens.create(systemActor(), org.id, 'Entra ID');
  const scim = scimRequester(() => t.app, () => made.secret);
  await t.vault.store.repos.federation.replaceGroupMappings(org.id, [
    { organisationId: org.id, group: 'SR Admins', roles: ['org_admin'], teams: ['hr'], clearance: 'OFFICIAL-SENSITIVE' },
  ]);
  const people = [];
  for (let i = 0; i < 4; i += 1) people.push(await org.user({ roles: ['org_admin'] }));
  const [a0, a1, a2, a3] = people.sort((a, b) => (a.id < b.id ? -1 : 1)) as [typeof people[0], typeof people[0], typeof people[0], typeof people[0]];
  const group = (await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'SR Admins', members: [{ value: a2.id }] })).json() as { id: string };

  let letGo!: () => void;
  const holding = new Promise<void>((resolve) => { letGo = resolve; });
  let held!: () => void;
  const isHeld = new Promise<void>((resolve) => { held = resolve; });
  const holder = t.vault.store.db.transaction().execute(async (trx) => {
    await sql`select id from users where id = ${a0.id} for update`.execute(trx);
    held();
    await holding;
  });
  await isHeld;
  const waiting = async (n: number): Promise<void> => {
    for (let waited = 0; ; waited += 20) {
      const rows = await sql<{ n: string }>`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(t.vault.store.db);
      if (Number(rows.rows[0]!.n) >= n) return;
      if (waited > 20_000) throw new Error(`fewer than ${n} transactions waiting for a lock`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const moved = scim('PATCH', `/Groups/${group.id}`, { schemas: [PATCH], Operations: [
    { op: 'add', path: 'members', value: [{ value: a3.id }] },
    { op: 'remove', path: `members[value eq "${a2.id}"]` },
  ] });
  await waiting(1);
  const switchedOff = t.app.inject({ method: 'POST', url: `/api/v1/users/${a3.id}/disable`, headers: auth(a1) });
  // Before the fix the admin's request waits for a3's row, held by the directory's; now it is done at once.
  await Promise.race([switchedOff, waiting(2)]);
  letGo();
  await holder;
  const answers = await Promise.all([moved, switchedOff]);
  expect(answers.map((a) => [a.statusCode, a.statusCode >= 300 ? a.body : ''])).toEqual([[204, ''], [204, '']]);
  const state = async (id: string) => {
    const u = (await t.vault.store.repos.users.byId(id))!;
    return [u.disabled, [...u.roles].sort()];
  };
  expect([await state(a2.id), await state(a3.id)]).toEqual([[false, ['member']], [true, ['org_admin']]]);
}, 60_000);
