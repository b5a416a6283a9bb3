// SCIM Groups (RFC 7644) for an organisation's directory: list, read, create, replace, change members and
// remove. Membership is what gives provisioned people their access: every change recomputes the roles, teams
// and clearance of the people it touches from the organisation's group mapping (scim-access.ts), audited in
// the same transaction. Members must be people of the directory's own organisation.
import { randomUUID } from 'node:crypto';
import type { Decision } from '../domain/access/policy.js';
import { notFound } from '../domain/errors.js';
import type { ScimFilter } from '../domain/identity/scim-filter.js';
import { ScimRequestError, type ScimGroupChange } from '../domain/identity/scim-patch.js';
import type { ScimGroup } from '../domain/identity/scim-repositories.js';
import type { ScimGroupInput } from '../domain/identity/scim-resources.js';
import type { Clock } from '../domain/ports.js';
import type { Repos, Store } from '../domain/repositories.js';
import type { AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { changeDecidedWithin, organisationAction } from './decided-within.js';
import type { IdentityService } from './identity.service.js';
import { recomputeAccess } from './scim-access.js';
import type { DirectoryActor } from './scim-tokens.service.js';
import type { PageRequest, ScimPage } from './scim-users.service.js';

export interface ScimGroupView {
  group: ScimGroup;
  /** User ids; null when the caller asked to leave members out (excludedAttributes=members). */
  members: string[] | null;
}

const MAX_DISPLAY_NAME = 256;

export class ScimGroupsService {
  constructor(private readonly o: {
    store: Store; clock: Clock; access: AccessService;
    /** Reads the directory's token again inside the transaction that writes a change (changeDecidedWithin). */
    identity: Pick<IdentityService, 'actorWithin'>;
  }) {}

  private get repos() {
    return this.o.store.repos;
  }

  private allow(actor: DirectoryActor, ids: Record<string, string> = {}, organisationId = actor.organisationId): Promise<Decision> {
    return this.o.access.requireOrganisation(actor, 'organisation.manage-users', organisationId, { ...ids, scimTokenId: actor.scimTokenId }, { missing: 'Group' });
  }

  /**
   * Runs a change in a transaction that decides it again first (changeDecidedWithin): the directory's token read
   * there, its row held, so one revoked since the first decision is refused (401, audited as `auditAs`) and
   * nothing is written; `organisation.manage-users` asked again of decide(). The change writes with that decision.
   */
  private changeWithin(actor: DirectoryActor, auditAs: string, ids: Record<string, string>, organisationId: string, change: (repos: Repos, decision: Decision) => Promise<void>): Promise<void> {
    const again = organisationAction('organisation.manage-users', organisationId, { ...ids, scimTokenId: actor.scimTokenId }, auditAs, 'Group');
    return changeDecidedWithin(this.o, actor, [again], (repos, { decision }) => change(repos, decision));
  }

  async list(actor: DirectoryActor, filter: ScimFilter | null, page: PageRequest, withMembers: boolean): Promise<ScimPage<ScimGroupView>> {
    await this.allow(actor);
    const query = filter ? { [filter.attribute]: filter.value } : {};
    const groups = await this.repos.scim.groups(actor.organisationId, query);
    const items = groups.slice(page.startIndex - 1, page.startIndex - 1 + page.count);
    return { totalResults: groups.length, startIndex: page.startIndex, items: await Promise.all(items.map((g) => this.view(g, withMembers))) };
  }

  async get(actor: DirectoryActor, id: string, withMembers = true): Promise<ScimGroupView> {
    const { group } = await this.owned(actor, id);
    return this.view(group, withMembers);
  }

  async create(actor: DirectoryActor, input: ScimGroupInput): Promise<ScimGroupView> {
    await this.allow(actor);
    // Display names need not be unique: a directory may hold two groups of one name (Entra does), and both
    // then match the same mapping entry. Groups are told apart by id and externalId.
    const displayName = this.displayName(input.displayName);
    const members = await this.ownPeople(actor, input.members);
    const now = this.o.clock.now();
    const group: ScimGroup = { id: randomUUID(), organisationId: actor.organisationId, displayName, externalId: input.externalId, createdAt: now.toISOString(), updatedAt: now.toISOString() };
    await this.changeWithin(actor, 'scim-group.create', {}, actor.organisationId, async (repos, decision) => {
      await repos.scim.insertGroup(group);
      await repos.scim.addMembers(group.id, members);
      await repos.audit.insert([this.event(actor, 'scim-group.create', group, decision, now, { members: String(members.length) })]);
      await recomputeAccess(repos, this.o.access, actor, decision, members, now);
    });
    return this.view(group, true);
  }

  /** PUT: the group's whole state, members included. */
  async replace(actor: DirectoryActor, id: string, input: ScimGroupInput): Promise<ScimGroupView> {
    return this.patch(actor, id, { displayName: input.displayName, externalId: input.externalId, replaceMembers: input.members, addMembers: [], removeMembers: [] });
  }

  async patch(actor: DirectoryActor, id: string, change: ScimGroupChange): Promise<ScimGroupView> {
    const { group } = await this.owned(actor, id);
    const displayName = change.displayName === undefined ? group.displayName : this.displayName(change.displayName);
    const current = await this.repos.scim.members(id);
    const target = change.replaceMembers === undefined ? null : await this.ownPeople(actor, change.replaceMembers);
    const add = await this.ownPeople(actor, change.addMembers);
    // Removing someone who is not a member (or not a person here) changes nothing: the directory's view already holds.
    const remove = change.removeMembers;
    const next = new Set(target ?? current);
    add.forEach((m) => next.add(m));
    remove.forEach((m) => next.delete(m));
    const joined = [...next].filter((m) => !current.includes(m));
    const left = current.filter((m) => !next.has(m));
    const renamed = displayName !== group.displayName || (change.externalId !== undefined && change.externalId !== group.externalId);
    const now = this.o.clock.now();
    const updated: ScimGroup = { ...group, displayName, externalId: change.externalId === undefined ? group.externalId : change.externalId, updatedAt: now.toISOString() };
    await this.changeWithin(actor, renamed ? 'scim-group.update' : 'scim-group.members', { scimGroupId: id }, group.organisationId, async (repos, decision) => {
      if (renamed) {
        await repos.scim.updateGroup(updated);
        await repos.audit.insert([this.event(actor, 'scim-group.update', updated, decision, now)]);
      }
      await repos.scim.addMembers(id, joined);
      await repos.scim.removeMembers(id, left);
      if (joined.length + left.length > 0) {
        await repos.audit.insert([this.event(actor, 'scim-group.members', updated, decision, now, { joined: String(joined.length), left: String(left.length) })]);
      }
      // A new name or externalId can match a different mapping: everyone in the group is looked at again.
      await recomputeAccess(repos, this.o.access, actor, decision, renamed ? [...next, ...left] : [...joined, ...left], now);
    });
    return this.view(updated, true);
  }

  async remove(actor: DirectoryActor, id: string): Promise<void> {
    const { group } = await this.owned(actor, id);
    const members = await this.repos.scim.members(id);
    const now = this.o.clock.now();
    await this.changeWithin(actor, 'scim-group.remove', { scimGroupId: id }, group.organisationId, async (repos, decision) => {
      await repos.scim.removeGroup(id);
      await repos.audit.insert([this.event(actor, 'scim-group.remove', group, decision, now)]);
      await recomputeAccess(repos, this.o.access, actor, decision, members, now);
    });
  }

  private async owned(actor: DirectoryActor, id: string): Promise<{ group: ScimGroup; decision: Decision }> {
    const group = await this.repos.scim.group(id);
    if (!group) throw notFound('Group');
    // Another organisation's group is refused by decide() (audited) and answered like one that does not exist.
    const decision = await this.allow(actor, { scimGroupId: id }, group.organisationId);
    return { group, decision };
  }

  /** The user ids, each a person of the directory's organisation that SCIM has not removed. */
  private async ownPeople(actor: DirectoryActor, ids: readonly string[]): Promise<string[]> {
    const removed = new Set(await this.repos.scim.removedUserIds(actor.organisationId));
    const unique = [...new Set(ids)];
    for (const id of unique) {
      const user = await this.repos.users.byId(id);
      if (!user || user.organisationId !== actor.organisationId || removed.has(id)) {
        throw new ScimRequestError('invalidValue', `No person with id ${id} is provisioned in this organisation, so they cannot be a member.`);
      }
    }
    return unique;
  }

  private displayName(value: string): string {
    const name = value.trim();
    if (name === '') throw new ScimRequestError('invalidValue', 'displayName is required and must be a non-empty string.');
    if (name.length > MAX_DISPLAY_NAME) throw new ScimRequestError('invalidValue', `displayName must be ${MAX_DISPLAY_NAME} characters or fewer.`);
    return name;
  }

  private event(actor: DirectoryActor, action: string, group: ScimGroup, decision: Decision, now: Date, extra: Record<string, string> = {}) {
    return auditEvent(actor, action, { organisationId: group.organisationId, ids: { scimGroupId: group.id, scimTokenId: actor.scimTokenId, ...extra } }, decision, now);
  }

  private async view(group: ScimGroup, withMembers: boolean): Promise<ScimGroupView> {
    return { group, members: withMembers ? await this.repos.scim.members(group.id) : null };
  }
}

