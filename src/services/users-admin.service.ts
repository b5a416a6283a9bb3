// People administration for org admins (roles, teams, clearance, disable, MFA reset), and what a
// signed-in person's home page shows them (notices, recent documents they may read).
import { decide } from '../domain/access/policy.js';
import { invalid, notFound } from '../domain/errors.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, Classification, Document, User } from '../domain/types.js';
import { CLASSIFICATIONS } from '../domain/types.js';
import type { Notification, Store } from '../domain/repositories.js';
import { documentResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import type { IdentityService } from './identity.service.js';

export interface UserChange {
  roles?: string[];
  teams?: string[];
  clearance?: string;
}

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
    const user = await this.repos.users.byId(userId);
    if (!user) throw notFound('user');
    // Another organisation's person is refused by decide() and audited, like any other id.
    await this.o.access.require(actor, 'organisation.manage-users', { kind: 'organisation', organisationId: user.organisationId }, { organisationId: user.organisationId, ids: { userId } }, { missing: 'user' });
    const state = await this.repos.users.signInState(userId);
    return { ...user, mfaSecretPending: Boolean(state?.mfa_secret) && !state?.mfa_enabled };
  }

  async update(actor: Actor, userId: string, change: UserChange): Promise<User> {
    const user = await this.get(actor, userId);
    const roles = change.roles === undefined ? user.roles : this.o.identity.validRoles(change.roles);
    const teams = change.teams === undefined ? user.teams : this.o.identity.validTeams(change.teams);
    if (change.clearance !== undefined && !(CLASSIFICATIONS as readonly string[]).includes(change.clearance)) {
      throw invalid(`Clearance must be one of ${CLASSIFICATIONS.join(', ')}.`, { field: 'clearance' });
    }
    const clearance = (change.clearance ?? user.clearance) as Classification;
    if (actor.userId === userId && user.roles.includes('org_admin') && !roles.includes('org_admin')) {
      throw invalid('You cannot remove your own org admin role; ask another org admin.', { field: 'roles' });
    }
    await this.o.store.transaction(async (repos) => {
      await repos.users.update(userId, { roles, teams, clearance });
      await repos.audit.insert([this.event(actor, 'user.update', user, `roles:${roles.join('+')};teams:${teams.join('+')};clearance:${clearance}`)]);
    });
    return { ...user, roles, teams, clearance };
  }

  /** Disables (or re-enables) a person; their sessions end at once and their tokens stop working. */
  async setDisabled(actor: Actor, userId: string, disabled: boolean): Promise<void> {
    const user = await this.get(actor, userId);
    if (disabled && actor.userId === userId) throw invalid('You cannot disable your own account.');
    await this.o.store.transaction(async (repos) => {
      await repos.users.update(userId, { disabled });
      if (disabled) await repos.sessions.deleteForUser(userId);
      await repos.audit.insert([this.event(actor, disabled ? 'user.disable' : 'user.enable', user, 'org_admin')]);
    });
  }

  /** Clears the authenticator and recovery codes: the person sets MFA up again at next sign-in. */
  async resetMfa(actor: Actor, userId: string): Promise<void> {
    const user = await this.get(actor, userId);
    await this.o.store.transaction(async (repos) => {
      await repos.users.update(userId, { mfaSecret: null, mfaEnabled: false, recoveryCodes: null });
      await repos.sessions.deleteForUser(userId);
      await repos.audit.insert([this.event(actor, 'user.mfa-reset', user, 'org_admin')]);
    });
  }

  /** The actor's own notices (quarantined uploads and the like), newest first. */
  async notices(actor: Actor, limit = 10): Promise<Notification[]> {
    if (!actor.userId) return [];
    return this.repos.notifications.forUser(actor.userId, limit);
  }

  /**
   * Recently changed documents the actor may read: their organisation's, and partners' reached
   * through arrangements in force. Every one is checked by decide().
   */
  async recentDocuments(actor: Actor, limit = 10): Promise<Document[]> {
    if (!actor.organisationId) return [];
    const arrangements = await this.o.access.arrangementsFor(actor, []);
    const organisationIds = new Set([actor.organisationId]);
    for (const a of arrangements) {
      if (a.status !== 'active') continue;
      if (a.hostOrganisationId === actor.organisationId) a.partnerOrganisationIds.forEach((id) => organisationIds.add(id));
      else organisationIds.add(a.hostOrganisationId);
    }
    const context = await this.o.access.context(actor, [...organisationIds]);
    const candidates = await this.repos.documents.recentInOrganisations([...organisationIds], limit * 10);
    return candidates.filter((d) => decide(actor, 'document.read', documentResource(d), context).allow).slice(0, limit);
  }

  private async requireManager(actor: Actor, ids: Record<string, string>): Promise<string> {
    const organisationId = actor.organisationId ?? '';
    await this.o.access.require(actor, 'organisation.manage-users', { kind: 'organisation', organisationId }, { organisationId, ids });
    return organisationId;
  }

  private event(actor: Actor, action: string, user: User, reason: string) {
    return auditEvent(actor, action, { organisationId: user.organisationId, ids: { userId: user.id } }, { allow: true, reason, via: null }, this.o.clock.now());
  }
}
