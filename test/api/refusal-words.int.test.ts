// A refusal of something hidden is the same 404 in the same words as a refusal of nothing: renaming or
// moving another council's top-level folder (or a partner's, once the arrangement is suspended) must not
// be told apart from an id that names nothing, on REST or through the service the CLI and WebDAV call.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { createOrganisation, createPartnership } from '../support/vault.js';

const clamd = useClamd();

describe.each(['sqlite', 'postgres'] as const)('refusal words on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it("answers a rename or move of another council's top-level folder exactly as one of an id that names nothing", async () => {
    const { host, partner, arrangement } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const hostTeam = await host.user({ teams: ['payroll'], roles: ['member', 'org_admin', 'records_manager'] });
    const stranger = await (await createOrganisation(t.vault)).user({ teams: ['payroll'], roles: ['member', 'org_admin', 'records_manager'] });
    await t.vault.arrangements.suspend(systemActor(), arrangement.id);
    const folder = partner.collections.payroll!;
    const nothing = randomUUID();
    for (const user of [hostTeam, stranger]) {
      for (const body of [{ name: 'Renamed' }, { parentId: partner.collections.hr! }, { parentId: null }]) {
        const hidden = expectProblem(await api(t.app, user).patch(`collections/${folder}`, body), 404);
        const missing = expectProblem(await api(t.app, user).patch(`collections/${nothing}`, body), 404);
        expect(hidden.detail).toBe(missing.detail);
        expect(hidden.type).toBe(missing.type);
      }
      // The CLI's `collection move --as` and WebDAV's MOVE call the same service method.
      const person = await t.vault.store.repos.users.byId(user.id);
      const actor = actorFor(person!, { channel: 'cli', clientAddress: null, requestId: null });
      const refusal = async (id: string) => t.vault.collectionMoves.move(actor, id, { name: 'Renamed' }).then(() => null, (error: unknown) => error);
      const [hidden, missing] = [await refusal(folder), await refusal(nothing)];
      expect(hidden).toBeInstanceOf(DomainError);
      expect((hidden as DomainError).code).toBe('NOT_FOUND');
      expect((hidden as DomainError).message).toBe((missing as DomainError).message);
    }
    const unchanged = await t.vault.store.repos.collections.byId(folder);
    expect(unchanged).toMatchObject({ name: 'payroll', parentId: null });
  });
});
