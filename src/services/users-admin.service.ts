// People administration for org admins (roles, teams, clearance, disable, MFA reset), and what a
// signed-in person's home page shows them (notices, recent documents they may read).
import type { Decision } from '../domain/access/policy.js';
import { invalid, notFound } from '../domain/errors.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, Classification, Document, User } from '../domain/types.js';
import { CLASSIFICATIONS } from '../domain/types.js';
import { isRequestOpen } from '../domain/records/subject-access.js';
import type { Notification, Store } from '../domain/repositories.js';
import { documentResource, personResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { mfaIds, personBeforeIds, personStateIds } from './person-state.js';
import { revokePersonAccess, revokeScimTokensIfNoLongerAllowed } from './person-revocation.js';
import type { IdentityService } from './identity.service.js';

export interface UserChange {
  roles?: string[];
  teams?: string[];
  clearance?: string;
}

/** The kind of notice that asks a partner's DPOs to search for a subject access request (SubjectAccessService). */
const SUBJECT_ACCESS_NOTICE = 'subject-access.asked';

export class UsersAdminService {
  constructor(private readonly o: { store: Store; clock: Clock; access: AccessService; identity: IdentityService }) {}

  private get repos() {
    return this.o.store.repos;
  }

  /** Everyone in the actor's organisation (org admins only). */
  async list(actor: Actor): Promise<User[]> {
    const organisationId = await this.requireManager(actor, {});
    return this.repos.users.listByOrganisation(organisationId);
  }

  async get(actor: Actor, userId: string): Promise<User & { mfaSecretPending: boolean }> {
    const { user } = await this.managed(actor, userId);
    const state = await this.repos.users.signInState(userId);
    return { ...user, mfaSecretPending: Boolean(state?.mfa_secret) && !state?.mfa_enabled };
  }

  /** A person the actor manages, and the decision that says so (recorded in the change's event). */
  private async managed(actor: Actor, userId: string): Promise<{ user: User; decision: Decision }> {
    const user = await this.repos.users.byId(userId);
    if (!user) throw notFound('user');
    // Another organisation's person is refused by decide() (organisation scoping) and audited, like any other id.
    const decision = await this.o.access.requireOrganisation(actor, 'organisation.manage-users', user.organisationId, { userId }, { missing: 'user' });
    return { user, decision };
  }

  async update(actor: Actor, userId: string, change: UserChange): Promise<User> {
    const { user, decision } = await this.managed(actor, userId);
    const roles = change.roles === undefined ? user.roles : this.o.identity.validRoles(change.roles);
    const teams = change.teams === undefined ? user.teams : this.o.identity.validTeams(change.teams);
    if (change.clearance !== undefined && !(CLASSIFICATIONS as readonly string[]).includes(change.clearance)) {
      throw invalid(`Clearance must be one of ${CLASSIFICATIONS.join(', ')}.`, { field: 'clearance' });
    }
    const clearance = (change.clearance ?? user.clearance) as Classification;
    if (actor.userId === userId && user.roles.includes('org_admin') && !roles.includes('org_admin')) {
      throw invalid('You cannot remove your own org admin role; ask another org admin.', { field: 'roles' });
    }
    const updated = { ...user, roles, teams, clearance };
    await this.o.store.transaction(async (repos) => {
      const before = await personBeforeIds(repos, userId);
      await repos.users.update(userId, { roles, teams, clearance });
      // What changed goes into the event's ids; the decision is the one that allowed it.
      await repos.audit.insert([this.event(actor, 'user.update', user, decision, { roles: roles.join('+'), teams: teams.join('+'), clearance, ...before, ...(await personStateIds(repos, userId)) })]);
      await revokeScimTokensIfNoLongerAllowed(repos, this.o.access, actor, updated, decision, this.o.clock.now());
    });
    return updated;
  }

  /**
   * Disables (or re-enables) a person; their sessions end at once and their tokens and app passwords are revoked.
   * An admin's disabling is the organisation's decision, recorded as such (`disabledBy` 'admin', also over the
   * directory's): the directory cannot switch the account on again, only an org admin can (decide()'s
   * `person.enable`), and enabling clears the mark.
   */
  async setDisabled(actor: Actor, userId: string, disabled: boolean): Promise<void> {
    const { user, decision: managing } = await this.managed(actor, userId);
    if (disabled && actor.userId === userId) throw invalid('You cannot disable your own account.');
    const decision = disabled ? managing : await this.o.access.require(actor, 'person.enable', personResource(user), { organisationId: user.organisationId, ids: { userId } }, { missing: 'user' });
    await this.o.store.transaction(async (repos) => {
      const before = await personBeforeIds(repos, userId);
      await repos.users.update(userId, disabled ? { disabled, disabledBy: 'admin' } : { disabled });
      await repos.audit.insert([this.event(actor, disabled ? 'user.disable' : 'user.enable', user, decision, { ...before, ...(await personStateIds(repos, userId)) })]);
      if (disabled) await revokePersonAccess(repos, actor, user, decision, this.o.clock.now());
    });
  }

  /** Clears the authenticator and recovery codes: the person sets MFA up again at next sign-in. */
  async resetMfa(actor: Actor, userId: string): Promise<void> {
    const { user, decision } = await this.managed(actor, userId);
    await this.o.store.transaction(async (repos) => {
      await repos.users.resetMfa(userId);
      await repos.sessions.deleteForUser(userId);
      await repos.audit.insert([this.event(actor, 'user.mfa-reset', user, decision, mfaIds(userId, false, null))]);
    });
  }

  /**
   * The actor's own notices (quarantined uploads and the like), newest first. One about a subject access
   * request is shown only while decide() lets them answer it (the arrangement with the requester in force)
   * and it is open, as its e-mail is sent only then; one stored before notices named their request is not.
   */
  async notices(actor: Actor, limit = 10): Promise<Notification[]> {
    if (!actor.userId) return [];
    const notices = await this.repos.notifications.forUser(actor.userId, limit);
    const shown = await Promise.all(notices.map(async (n) => {
      if (n.kind !== SUBJECT_ACCESS_NOTICE && !n.requestId) return true;
      const request = n.requestId ? await this.repos.subjectAccess.request(n.requestId) : undefined;
      if (!request || !isRequestOpen(request)) return false;
      const [answers] = await this.o.access.can(actor, [{
        action: 'subject-access.respond', resource: { kind: 'subject-access', organisationId: request.organisationId, partOrganisationId: actor.organisationId ?? '' },
      }]);
      return answers === true;
    }));
    return notices.filter((_, i) => shown[i]);
  }

  /**
   * Recently changed documents the actor may read: their organisation's, and those of the
   * organisations they reach through arrangements in force (AccessService.reachableOrganisations).
   * Every one is checked by decide().
   */
  async recentDocuments(actor: Actor, limit = 10): Promise<Document[]> {
    if (!actor.organisationId) return [];
    const organisationIds = [actor.organisationId, ...(await this.o.access.reachableOrganisations(actor))];
    const candidates = await this.repos.documents.recentInOrganisations(organisationIds, limit * 10);
    return (await this.o.access.filter(actor, 'document.read', candidates, documentResource)).slice(0, limit);
  }

  private async requireManager(actor: Actor, ids: Record<string, string>): Promise<string> {
    const organisationId = actor.organisationId ?? '';
    await this.o.access.requireOrganisation(actor, 'organisation.manage-users', organisationId, ids);
    return organisationId;
  }

  private event(actor: Actor, action: string, user: User, decision: Decision, change: Record<string, string> = {}) {
    return auditEvent(actor, action, { organisationId: user.organisationId, ids: { userId: user.id, ...change } }, decision, this.o.clock.now());
  }
}
