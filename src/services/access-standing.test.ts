// requireWithin reads the person again once per transaction (PersonStanding.heldWithin) and keeps that reading only
// for that person and credential: never for the system or a directory (which are not read), and what it keeps is
// put on the actor asking, so two actors in one transaction are never taken for each other.
import { describe, expect, it, vi } from 'vitest';
import type { Repos, Store } from '../domain/repositories.js';
import type { Actor } from '../domain/types.js';
import { AccessService } from './access.service.js';
import type { Standing } from './person-standing.js';

const ORG = 'org-a';
const reposOfTransaction = (): Repos => ({
  arrangements: { involving: async () => [] },
  holds: { activeForDocuments: async () => [], activeForCollections: async () => [] },
} as unknown as Repos);
const store = { repos: reposOfTransaction() } as unknown as Store;
const clock = { now: () => new Date('2026-12-07T12:00:00Z') };
const actor = (over: Partial<Actor>): Actor => ({
  kind: 'user', userId: 'u1', organisationId: ORG, roles: ['member'], teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE',
  channel: 'api', clientAddress: null, requestId: null, ...over,
} as Actor);
const folder = (organisationId: string) => ({ kind: 'collection' as const, id: 'c1', organisationId, serviceArea: 'payroll', classification: 'OFFICIAL' as const, arrangementId: null });
const creating = (organisationId: string) => [{ action: 'document.create' as const, resource: folder(organisationId), target: { organisationId, ids: {} } }];

describe('AccessService.requireWithin, the person read in the transaction', () => {
  it('reads a person once per transaction and decides on what it read, on the actor asking', async () => {
    const heldWithin = vi.fn(async (_repos: Repos, a: Actor): Promise<Standing> => ({ actor: { ...a, teams: [] } }));
    const access = new AccessService(store, clock, { heldWithin });
    const tx = reposOfTransaction();
    await access.holdActing(tx, actor({ requestId: 'r1' }));
    // The team was taken away: refused, on the reading, however the request began.
    await expect(access.requireWithin(tx, actor({ requestId: 'r1' }), creating(ORG))).rejects.toMatchObject({ name: 'RefusedWithin' });
    const second = await access.requireWithin(tx, actor({ requestId: 'r2' }), creating(ORG)).catch((e: { refusal: { decidedOn: Actor } }) => e.refusal.decidedOn);
    expect(heldWithin).toHaveBeenCalledTimes(1);
    // Decided on the second actor with what the transaction read of the person: its own request, the team gone.
    expect(second).toMatchObject({ requestId: 'r2', teams: [] });
    // Another transaction reads them again.
    const other = reposOfTransaction();
    await access.holdActing(other, actor({}));
    await expect(access.requireWithin(other, actor({}), creating(ORG))).rejects.toMatchObject({ name: 'RefusedWithin' });
    expect(heldWithin).toHaveBeenCalledTimes(2);
  });

  it('refuses to read a person the transaction did not hold before its rows (the one lock order)', async () => {
    const heldWithin = vi.fn(async (_repos: Repos, a: Actor): Promise<Standing> => ({ actor: a }));
    const access = new AccessService(store, clock, { heldWithin });
    await expect(access.requireWithin(reposOfTransaction(), actor({}), creating(ORG))).rejects.toThrow(/did not hold its person first/);
    expect(heldWithin).not.toHaveBeenCalled();
  });

  it('never reads, nor keeps, the system or a directory: two directories in one transaction are each themselves', async () => {
    const heldWithin = vi.fn(async (_repos: Repos, a: Actor): Promise<Standing> => ({ actor: a }));
    const access = new AccessService(store, clock, { heldWithin });
    const tx = reposOfTransaction();
    const directoryOf = (organisationId: string) => actor({ kind: 'directory', userId: null, organisationId, roles: [], teams: [] });
    // A directory creates nothing in a folder; what matters is that each is refused as itself, for its own organisation.
    const first = await access.requireWithin(tx, directoryOf('org-a'), creating('org-a')).catch((e: { refusal: { decidedOn: Actor } }) => e.refusal.decidedOn);
    const second = await access.requireWithin(tx, directoryOf('org-b'), creating('org-b')).catch((e: { refusal: { decidedOn: Actor } }) => e.refusal.decidedOn);
    expect(first).toMatchObject({ kind: 'directory', organisationId: 'org-a' });
    expect(second).toMatchObject({ kind: 'directory', organisationId: 'org-b' });
    expect(heldWithin).not.toHaveBeenCalled();
  });
});
