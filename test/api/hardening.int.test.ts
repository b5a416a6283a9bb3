// What an outsider's attack on the #11 changes left open, closed: service methods that trusted
// their caller or answered anyone. Each case checks that the door is shut and that the legitimate
// path still works. Every case runs on SQLite and PostgreSQL.
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/domain/access/policy.js';
import { DomainError } from '../../src/domain/errors.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, TEST_PASSWORD, createPartnership } from '../support/vault.js';

const clamd = useClamd();

const FORGED: Decision = { allow: true, reason: 'team', via: null };
const codeOf = (p: Promise<unknown>) => p.then(() => 'allowed', (e: unknown) => (e instanceof DomainError ? e.code : String(e)));

describe.each(DIALECTS)('hardening the #11 boundaries on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  const actorOf = async (userId: string) => actorFor((await t.vault.identity.userById(userId))!, { channel: 'api', clientAddress: '127.0.0.1', requestId: 'hardening' });

  // AccessService is handed to every interface (AppServices). arrangementsFor(actor, ids) answered
  // any organisation's arrangements, drafts included, to any actor, and context() the same inside a
  // DecisionContext: a partner's proposal still between its parties could be read by anyone.
  it('keeps the arrangements it reads for decide() to itself', async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'read', ceiling: 'OFFICIAL', serviceArea: 'finance' });
    const access = t.vault.access as unknown as Record<string, unknown>;
    expect(access['arrangementsFor']).toBeUndefined();
    expect(access['context']).toBeUndefined();
    // decide() still reads them: the host's finance team serves the partner; a colleague outside it does not.
    const partnerFinance = { kind: 'collection', organisationId: partner.id, serviceArea: 'finance', classification: 'OFFICIAL', arrangementId: null } as const;
    const server = await actorOf((await host.user({ teams: ['finance'] })).id);
    expect(await t.vault.access.reachableOrganisations(server)).toEqual([partner.id]);
    expect(await t.vault.access.may(server, 'collection.list', partnerFinance)).toBe(true);
    const stranger = await actorOf((await host.user({ teams: [] })).id);
    expect(await t.vault.access.reachableOrganisations(stranger)).toEqual([]);
    expect(await t.vault.access.may(stranger, 'collection.list', partnerFinance)).toBe(false);
    expect(await t.vault.access.may(systemActor(), 'collection.list', partnerFinance)).toBe(true);
  });

  // requireCreatable(actor, action, parent, created, granted) handed back the caller's `granted`
  // Decision whenever what was created sat within the parent's classification: anyone holding
  // AppServices got an allow for creating inside any council's collection by handing in one.
  it('decides creating inside a collection itself, on the stored parent, whatever Decision is handed in', async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'read', ceiling: 'OFFICIAL', serviceArea: 'finance' });
    const finance = host.collections['finance']!;
    const requireCreatable = t.vault.access.requireCreatable.bind(t.vault.access) as (...args: unknown[]) => Promise<Decision>;
    const denials = async () => t.vault.store.db.selectFrom('audit_events').select(['action', 'reason']).where('target_organisation_id', '=', host.id)
      .where('decision', '=', 'deny').where('action', 'in', ['document.create', 'collection.create']).orderBy('id').execute();

    const outsider = await actorOf((await partner.user({ roles: ['org_admin'], teams: ['finance'] })).id);
    expect(await codeOf(requireCreatable(outsider, 'document.create', finance, 'OFFICIAL', FORGED))).toBe('NOT_FOUND');
    expect(await codeOf(requireCreatable(outsider, 'collection.create', finance, 'OFFICIAL', FORGED))).toBe('NOT_FOUND');
    expect((await denials()).map((e) => `${e.action} ${e.reason}`)).toEqual(['document.create no_arrangement', 'collection.create no_arrangement']);
    // A colleague outside the finance team may not create there either.
    const colleague = await actorOf((await host.user({ teams: ['payroll'] })).id);
    expect(await codeOf(requireCreatable(colleague, 'document.create', finance, 'OFFICIAL', FORGED))).toBe('NOT_FOUND');
    expect(await codeOf(requireCreatable(outsider, 'document.create', 'no-such-collection', 'OFFICIAL'))).toBe('NOT_FOUND');

    // The finance team creates within its clearance; above it, it is told plainly (it sees the folder).
    const member = await actorOf((await host.user({ teams: ['finance'], clearance: 'OFFICIAL' })).id);
    expect(await requireCreatable(member, 'document.create', finance, 'OFFICIAL')).toMatchObject({ allow: true, via: null });
    expect(await codeOf(requireCreatable(member, 'document.create', finance, 'OFFICIAL-SENSITIVE'))).toBe('FORBIDDEN');
  });

  // WebSessionsService.endAllFor(userId) took no actor and asked nothing: any holder of
  // AppServices could sign any council's staff out. Nothing called it (disabling a person,
  // resetting their MFA and changing a password end sessions inside their own transactions), so it
  // is gone; ending someone's sessions is UsersAdminService's, decided by organisation.manage-users.
  it('ends a person\'s sessions only through a decided action', async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL', serviceArea: 'finance' });
    expect('endAllFor' in t.vault.sessions).toBe(false);
    const person = await host.user({ teams: ['finance'] });
    const request = { channel: 'web', clientAddress: '127.0.0.1', requestId: 'hardening' } as const;
    const { sessionId, stage } = await t.vault.sessions.signIn(person.email, TEST_PASSWORD, request);
    expect(stage).toBe('active');
    expect(await t.vault.sessions.resolve(sessionId)).toMatchObject({ user: { id: person.id } });

    const partnerAdmin = await actorOf((await partner.user({ roles: ['org_admin'] })).id);
    expect(await codeOf(t.vault.people.setDisabled(partnerAdmin, person.id, true))).toBe('NOT_FOUND');
    expect(await t.vault.sessions.resolve(sessionId)).toMatchObject({ user: { id: person.id } });

    const hostAdmin = await actorOf((await host.user({ roles: ['org_admin'] })).id);
    await t.vault.people.setDisabled(hostAdmin, person.id, true);
    expect(await t.vault.sessions.resolve(sessionId)).toBeNull();
  });
});
