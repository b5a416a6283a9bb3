// SCIM Users (RFC 7644) for an organisation's directory: list with a filter and pages, read, create, replace,
// change (PATCH) and remove. The directory acts as its `directory` actor: every change is asked of decide()
// (`organisation.manage-users` on its own organisation) and audited in its transaction. Nobody provisioned
// here has a password: they sign in through the organisation's identity provider. Switching someone off
// (active=false or DELETE) ends their sessions and revokes their tokens and app passwords at once. Switching
// someone on again (active=true) is decide()'s `person.enable`: the directory may undo only its own switching
// off, never an org admin's; a refusal keeps the account off, is audited, and the rest of the request stands.
import { randomUUID } from 'node:crypto';
import type { Decision } from '../domain/access/policy.js';
import { DomainError, notFound } from '../domain/errors.js';
import type { ScimFilter } from '../domain/identity/scim-filter.js';
import { ScimRequestError, type ScimUserChange } from '../domain/identity/scim-patch.js';
import type { ScimPerson } from '../domain/identity/scim-repositories.js';
import { emailFromUserName, personName, type ScimUserInput } from '../domain/identity/scim-resources.js';
import type { Clock } from '../domain/ports.js';
import type { Repos, Store } from '../domain/repositories.js';
import type { User } from '../domain/types.js';
import { personResource, type AccessService } from './access.service.js';
import { refusedIfTaken } from './already-taken.js';
import { addressTaken, outsideOwnDomains } from './own-email-domains.js';
import { auditEvent } from './audit-events.js';
import { personBeforeIds, personStateIds, signInSecretIds } from './person-state.js';
import { queueAccountNotice } from './account-notices.js';
import { revokePersonAccess } from './person-revocation.js';
import { ACCESS_FLOOR, lockedLastAdminResource, recomputeAccess } from './scim-access.js';
import type { DirectoryActor } from './scim-tokens.service.js';
import { changeRefused } from './users-admin.service.js';

/** What the directory is told when it would change an org admin's e-mail address (decide()'s `person.change-email`). */
export const ORG_ADMIN_ADDRESS_REFUSED = "This person is an org admin: the directory cannot change an org admin's e-mail address (their sign-in name, where their invitations, reset links and security notices go), so nothing of this request was changed. Another org admin of the organisation can take their org admin role away first; then the directory can change it.";

/** A person as SCIM shows them: the account, and what the directory said (none for people an admin added). */
export interface ScimUserView {
  user: User;
  person: ScimPerson | null;
}

export interface ScimPage<T> {
  totalResults: number;
  startIndex: number;
  items: T[];
}

/** RFC 7644 §3.4.2.4: startIndex counts from 1; count is how many at most. */
export interface PageRequest {
  startIndex: number;
  count: number;
}

export class ScimUsersService {
  constructor(private readonly o: { store: Store; clock: Clock; access: AccessService }) {}

  private get repos() {
    return this.o.store.repos;
  }

  private allow(actor: DirectoryActor, ids: Record<string, string> = {}, organisationId = actor.organisationId): Promise<Decision> {
    return this.o.access.requireOrganisation(actor, 'organisation.manage-users', organisationId, { ...ids, scimTokenId: actor.scimTokenId }, { missing: 'User' });
  }

  /** The organisation's people (not those SCIM removed), oldest first, one page; `filter` as parsed by parseScimFilter. */
  async list(actor: DirectoryActor, filter: ScimFilter | null, page: PageRequest): Promise<ScimPage<ScimUserView>> {
    await this.allow(actor);
    const removed = new Set(await this.repos.scim.removedUserIds(actor.organisationId));
    let users: User[];
    if (filter?.attribute === 'userName' || filter?.attribute === 'emails[type eq "work"].value') {
      // userName is not case-sensitive (RFC 7643 §4.1.1): addresses are stored lower-cased.
      const user = await this.repos.users.byEmail(filter.value.trim().toLowerCase());
      users = user ? [user] : [];
    } else if (filter?.attribute === 'externalId') {
      const people = await this.repos.scim.peopleByExternalId(actor.organisationId, filter.value);
      users = (await Promise.all(people.map((p) => this.repos.users.byId(p.userId)))).filter((u): u is User => u !== undefined);
    } else if (filter?.attribute === 'id') {
      const user = await this.repos.users.byId(filter.value);
      users = user ? [user] : [];
    } else {
      users = await this.repos.users.listByOrganisation(actor.organisationId);
    }
    const visible = users.filter((u) => u.organisationId === actor.organisationId && !removed.has(u.id))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    const items = visible.slice(page.startIndex - 1, page.startIndex - 1 + page.count);
    return { totalResults: visible.length, startIndex: page.startIndex, items: await Promise.all(items.map((user) => this.view(user))) };
  }

  async get(actor: DirectoryActor, id: string): Promise<ScimUserView> {
    const { user } = await this.provisioned(actor, id);
    return this.view(user);
  }

  /**
   * Creates a person (201), or brings back one SCIM removed earlier with the same userName. A userName already
   * used by someone else is refused (409 uniqueness), whichever organisation they are in.
   */
  async create(actor: DirectoryActor, input: ScimUserInput): Promise<ScimUserView> {
    const decision = await this.allow(actor);
    const email = emailFromUserName(input.userName);
    await this.requireOwnDomain(actor, email);
    const existing = await this.repos.users.byEmail(email);
    const now = this.o.clock.now();
    if (existing) {
      const removed = existing.organisationId === actor.organisationId && (await this.repos.scim.person(existing.id))?.removedAt;
      if (!removed) throw this.taken(actor, existing, email);
      await this.write(actor, decision, existing, input, now, { renames: true });
      return this.get(actor, existing.id);
    }
    const user: User = {
      id: randomUUID(), organisationId: actor.organisationId, email, name: personName(input, email), ...ACCESS_FLOOR,
      mfaEnabled: false, disabled: !input.active, disabledBy: input.active ? null : 'directory', createdAt: now.toISOString(),
    };
    // Two creates of one address racing: the loser is told the address is taken, as a later create is, not a 500.
    await refusedIfTaken(() => this.o.store.transaction(async (repos) => {
      await repos.users.insert({ ...user, passwordHash: null });
      await repos.scim.savePerson({
        userId: user.id, organisationId: user.organisationId, externalId: input.externalId, givenName: input.givenName, familyName: input.familyName,
        updatedAt: now.toISOString(), removedAt: null,
      });
      const ids = { userId: user.id, scimTokenId: actor.scimTokenId, ...(await personStateIds(repos, user.id)), ...signInSecretIds(user.id, null) };
      await repos.audit.insert([auditEvent(actor, 'user.create', { organisationId: user.organisationId, ids }, decision, now)]);
    }), async () => {
      const winner = await this.repos.users.byEmail(email);
      if (winner) throw this.taken(actor, winner, email);
    });
    return this.view(user);
  }

  /** PUT: the directory's whole view of the person; attributes it leaves out are cleared (the name falls back to the address). */
  async replace(actor: DirectoryActor, id: string, input: ScimUserInput): Promise<ScimUserView> {
    const { user, decision } = await this.provisioned(actor, id);
    await this.write(actor, decision, user, input, this.o.clock.now(), { renames: true });
    return this.get(actor, id);
  }

  /** PATCH: only what the operations name. */
  async patch(actor: DirectoryActor, id: string, change: ScimUserChange): Promise<ScimUserView> {
    const { user, decision } = await this.provisioned(actor, id);
    const person = await this.repos.scim.person(id);
    const merged: ScimUserChange = {
      externalId: person?.externalId ?? null, givenName: person?.givenName ?? null, familyName: person?.familyName ?? null, ...change,
    };
    // A PATCH that names no part of the name keeps the name the account has.
    const renames = (['displayName', 'formatted', 'givenName', 'familyName'] as const).some((k) => k in change);
    await this.write(actor, decision, user, merged, this.o.clock.now(), { renames });
    return this.get(actor, id);
  }

  /** DELETE: the account is switched off (sessions ended, credentials revoked), leaves SCIM's lists and its groups (so its access falls to the floor); its history stays. */
  async remove(actor: DirectoryActor, id: string): Promise<void> {
    const { user, decision } = await this.provisioned(actor, id);
    const now = this.o.clock.now();
    const person = await this.repos.scim.person(id);
    const refused = await this.o.store.transaction(async (repos) => {
      const refusal = await this.switchOffRefusal(repos, actor, id);
      if (refusal) return refusal;
      await this.switchOff(repos, actor, decision, user, now);
      for (const group of await repos.scim.groupsOf(id)) await repos.scim.removeMembers(group.id, [id]);
      // Out of every group, so down to the floor: an admin who later switches them on gives back no role the directory took away.
      await recomputeAccess(repos, this.o.access, actor, decision, [id], now);
      await repos.scim.savePerson({
        userId: id, organisationId: user.organisationId, externalId: person?.externalId ?? null, givenName: person?.givenName ?? null,
        familyName: person?.familyName ?? null, updatedAt: now.toISOString(), removedAt: now.toISOString(),
      });
      await repos.audit.insert([auditEvent(actor, 'user.remove', { organisationId: user.organisationId, ids: { userId: id, scimTokenId: actor.scimTokenId } }, decision, now)]);
      return null;
    });
    if (refused) throw refused;
  }

  /** A person of the directory's own organisation that SCIM has not removed; anyone else is 404 (audited by decide()). */
  private async provisioned(actor: DirectoryActor, id: string): Promise<{ user: User; decision: Decision }> {
    const user = await this.repos.users.byId(id);
    if (!user) throw notFound('User');
    const decision = await this.allow(actor, { userId: id }, user.organisationId);
    if ((await this.repos.scim.person(id))?.removedAt) throw notFound('User');
    return { user, decision };
  }

  /** Applies a change (name, address, externalId, active) in one transaction, each part audited. */
  private async write(actor: DirectoryActor, decision: Decision, user: User, change: ScimUserChange, now: Date, options: { renames?: boolean } = {}): Promise<void> {
    const email = change.userName === undefined ? user.email : emailFromUserName(change.userName);
    if (email !== user.email) {
      await this.requireOwnDomain(actor, email);
      const holder = await this.repos.users.byEmail(email);
      if (holder && holder.id !== user.id) throw this.taken(actor, holder, email);
    }
    const parts = { displayName: change.displayName ?? null, formatted: change.formatted ?? null, givenName: change.givenName ?? null, familyName: change.familyName ?? null };
    const renamed = options.renames ? personName(parts, email) : null;
    const refused = await this.o.store.transaction(async (repos) => {
      // Decided before anything is written: a refused switching off keeps nothing of the request (409).
      const switchOff = change.active === false ? await this.switchOffRefusal(repos, actor, user.id) : null;
      if (switchOff) return switchOff;
      // Whether the address changes is judged on the row as it is now, locked (after the org admins' rows a
      // switching off locked): judged on the row read before, an address the person has since left, sent back
      // while they were made an org admin, was written over theirs unasked.
      await repos.users.lock(user.id);
      const current = (await repos.users.byId(user.id)) ?? user;
      const changesAddress = email !== current.email;
      const name = renamed ?? current.name;
      const refusal = changesAddress ? await this.addressChangeRefusal(repos, actor, current) : null;
      if (refusal) return refusal;
      if (changesAddress || name !== current.name) {
        const before = await personBeforeIds(repos, user.id);
        // The old address is told (read in this transaction, before the change), and the new one: the old is
        // the one whoever took the account over does not control (account-notices.ts).
        if (changesAddress) await queueAccountNotice(repos, actor, user.id, { change: 'email-changed', detail: email }, now);
        await repos.users.update(user.id, { email, name });
        if (changesAddress) await queueAccountNotice(repos, actor, user.id, { change: 'email-added' }, now);
        const ids = { userId: user.id, scimTokenId: actor.scimTokenId, ...(changesAddress ? { email: 'changed' } : {}), ...before, ...(await personStateIds(repos, user.id)) };
        await repos.audit.insert([auditEvent(actor, 'user.update', { organisationId: user.organisationId, ids }, decision, now)]);
      }
      await repos.scim.savePerson({
        userId: user.id, organisationId: user.organisationId, externalId: change.externalId ?? null, givenName: parts.givenName, familyName: parts.familyName,
        updatedAt: now.toISOString(), removedAt: null,
      });
      if (change.active === false) await this.switchOff(repos, actor, decision, user, now);
      if (change.active === true && user.disabled) await this.switchOn(repos, actor, user.id, now);
      return null;
    });
    if (refused) throw refused;
  }

  /**
   * Why the directory may not switch this person off, or null, in the caller's transaction before it writes:
   * decide()'s `person.disable` refuses the last enabled org admin of the organisation, whom an org admin may
   * not switch off either (else a SCIM token, in whoever's hands, locks the council out: nobody left to manage
   * its people, identity settings or provisioning), asked with the organisation's enabled org admins' rows locked
   * (lockedLastAdminResource). Audited as a refused `user.disable`;
   * the answer is 409, and the request changes nothing: a 200 would tell the directory the person is off.
   */
  private async switchOffRefusal(repos: Repos, actor: DirectoryActor, userId: string): Promise<DomainError | null> {
    const user = await repos.users.byId(userId);
    if (!user || user.disabled || !user.roles.includes('org_admin')) return null;
    const { person, resource } = await lockedLastAdminResource(repos, user);
    if (person.disabled) return null;
    const target = { organisationId: person.organisationId, ids: { userId, scimTokenId: actor.scimTokenId } };
    const decision = await this.o.access.checkWithin(repos, actor, 'person.disable', resource, target, { auditAs: 'user.disable' });
    return decision.allow ? null : changeRefused('person.disable', decision);
  }

  /**
   * Why the directory may not change this person's e-mail address, or null, in the caller's transaction before it
   * writes, `user` read there with their row locked (an org admin role given meanwhile is seen): decide()'s
   * `person.change-email` refuses an org admin's (`org_admin_email`), where their invitations, reset links and
   * security notices go and what a first sign-in through the provider matches. Audited as a refused `user.update`
   * with the token's id; the answer is 403 and the request changes nothing.
   */
  private async addressChangeRefusal(repos: Repos, actor: DirectoryActor, user: User): Promise<DomainError | null> {
    const target = { organisationId: user.organisationId, ids: { userId: user.id, scimTokenId: actor.scimTokenId } };
    const resource = { ...personResource(user), orgAdmin: user.roles.includes('org_admin') };
    const decision = await this.o.access.checkWithin(repos, actor, 'person.change-email', resource, target, { auditAs: 'user.update' });
    return decision.allow ? null : new DomainError('FORBIDDEN', ORG_ADMIN_ADDRESS_REFUSED, { details: { reason: decision.reason } });
  }

  /**
   * active=true for a switched-off account, in the caller's transaction. decide() (`person.enable`, on the
   * account as it is now) lets the directory switch on only an account it switched off; an org admin's
   * switching off is refused, audited as a refused `user.enable` (reason `disabled_by_admin`), and is not
   * an error: the request's other changes are kept and the answer shows the account inactive, so Entra
   * goes on provisioning (a 4xx would fail the whole request at every cycle). The switch is conditional,
   * so an admin's switching off that commits meanwhile is decided again rather than undone.
   */
  private async switchOn(repos: Repos, actor: DirectoryActor, userId: string, now: Date): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await repos.users.byId(userId);
      if (!current?.disabled) return;
      const target = { organisationId: current.organisationId, ids: { userId, scimTokenId: actor.scimTokenId } };
      const decision = await this.o.access.checkWithin(repos, actor, 'person.enable', personResource(current), target, { auditAs: 'user.enable' });
      if (!decision.allow) return;
      const before = await personBeforeIds(repos, userId);
      if (await repos.users.enableIfDisabledBy(userId, 'directory')) {
        await repos.audit.insert([auditEvent(actor, 'user.enable', { ...target, ids: { ...target.ids, ...before, ...(await personStateIds(repos, userId)) } }, decision, now)]);
        await queueAccountNotice(repos, actor, userId, { change: 'account-enabled' }, now);
        return;
      }
    }
  }

  /**
   * Switched off already (by an admin or by the directory), as this transaction finds the account with its
   * row held: it stays as it is, and so does who did it. (The account as read before the transaction may
   * predate an org admin's Disable committed since, which the directory must not record as its own.)
   */
  private async switchOff(repos: Repos, actor: DirectoryActor, decision: Decision, user: User, now: Date): Promise<void> {
    const before = await personBeforeIds(repos, user.id);
    if ((await repos.users.byId(user.id))?.disabled !== false) return;
    await repos.users.update(user.id, { disabled: true, disabledBy: 'directory' });
    await repos.audit.insert([auditEvent(actor, 'user.disable', { organisationId: user.organisationId, ids: { userId: user.id, scimTokenId: actor.scimTokenId, ...before, ...(await personStateIds(repos, user.id)) } }, decision, now)]);
    await revokePersonAccess(repos, actor, user, decision, now, { scimTokenId: actor.scimTokenId });
  }

  /**
   * 400 invalidValue for a userName outside the organisation's own e-mail domains, asked before the address is
   * looked up: the same answer whether or not another organisation has an account with it (no oracle).
   */
  private async requireOwnDomain(actor: DirectoryActor, email: string): Promise<void> {
    const outside = await outsideOwnDomains(this.repos, actor.organisationId, email);
    if (outside) throw new ScimRequestError('invalidValue', `The userName ${email} cannot be provisioned here. ${outside}`);
  }

  /** 409 uniqueness, for an address in the organisation's own domains (requireOwnDomain came first). Someone in another organisation is not named. */
  private taken(actor: DirectoryActor, holder: User, email: string): ScimRequestError {
    return holder.organisationId === actor.organisationId
      ? new ScimRequestError('uniqueness', `A person with userName ${email} already exists in this organisation (id ${holder.id}).`)
      : new ScimRequestError('uniqueness', addressTaken(email, holder.organisationId, actor.organisationId));
  }

  private async view(user: User): Promise<ScimUserView> {
    return { user: (await this.repos.users.byId(user.id)) ?? user, person: (await this.repos.scim.person(user.id)) ?? null };
  }
}
