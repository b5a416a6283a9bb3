// How a viewer may know the people named in a record (a document's versions and access history, an
// arrangement's revisions, a subject access request): identified to those decide() lets identify them,
// "someone in <organisation>" to anyone else.
import type { Store } from '../domain/repositories.js';
import type { Actor } from '../domain/types.js';
import type { AccessService } from './access.service.js';

export class PersonNamesService {
  constructor(private readonly o: { store: Store; access: AccessService }) {}

  /**
   * How `viewer` may know the people named in a record that `ownerOrganisationId` owns (a document's
   * access history): by e-mail to their colleagues (`person.identify`) and to the owner's auditors
   * (`audit.read`); as "someone in <organisation>" to anyone else, such as a partner's staff. Only an
   * identified person may be singled out beside the label (their id, address and request ids).
   */
  async identities(viewer: Actor, userIds: readonly string[], ownerOrganisationId: string): Promise<Map<string, { identified: boolean; label: string }>> {
    const people = [];
    for (const id of new Set(userIds)) people.push({ id, user: await this.o.store.repos.users.byId(id) });
    // One fresh decision for all of them: the owner's auditors know everyone; others know colleagues.
    const [ownersAuditor, ...colleague] = await this.o.access.can(viewer, [
      { action: 'audit.read', resource: { kind: 'organisation', organisationId: ownerOrganisationId } },
      ...people.map(({ id, user }) => ({ action: 'person.identify' as const, resource: { kind: 'person' as const, userId: id, organisationId: user?.organisationId ?? '' } })),
    ]);
    const out = new Map<string, { identified: boolean; label: string }>();
    for (const [i, { id, user }] of people.entries()) {
      if (!user) {
        out.set(id, { identified: false, label: 'an unknown person' });
        continue;
      }
      const identified = ownersAuditor === true || colleague[i] === true;
      const organisation = (await this.o.store.repos.organisations.byId(user.organisationId))?.name ?? 'another organisation';
      out.set(id, { identified, label: identified ? user.email : `someone in ${organisation}` });
    }
    return out;
  }

  /**
   * The names `viewer` may be told for people who made a change (an arrangement's revisions): a
   * person's name to their colleagues and themselves (`person.identify`), "someone in <organisation>"
   * to anyone else, such as another council reading the register of arrangements. `identified` says
   * whether anything that singles the person out (their id) may be shown beside the label.
   */
  async namesFor(viewer: Actor, userIds: readonly string[]): Promise<Map<string, { identified: boolean; label: string }>> {
    const people = [];
    for (const id of new Set(userIds)) people.push({ id, user: await this.o.store.repos.users.byId(id) });
    const identified = await this.o.access.can(viewer, people.map(({ id, user }) => ({
      action: 'person.identify' as const, resource: { kind: 'person' as const, userId: id, organisationId: user?.organisationId ?? '' },
    })));
    const out = new Map<string, { identified: boolean; label: string }>();
    for (const [i, { id, user }] of people.entries()) {
      if (!user) out.set(id, { identified: false, label: 'Someone' });
      else if (identified[i] === true) out.set(id, { identified: true, label: user.name });
      else out.set(id, { identified: false, label: `someone in ${(await this.o.store.repos.organisations.byId(user.organisationId))?.name ?? 'another organisation'}` });
    }
    return out;
  }
}
