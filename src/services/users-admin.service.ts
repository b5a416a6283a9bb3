// People administration for org admins (roles, teams, clearance, disable, MFA and password reset), and what
// a signed-in person's home page shows them (notices, recent documents they may read).
import type { Decision, PersonResource } from '../domain/access/policy.js';
import { invalid, notFound } from '../domain/errors.js';
import type { Clock, PasswordHasher } from '../domain/ports.js';
import type { Actor, Classification, Document, User } from '../domain/types.js';
import { CLASSIFICATIONS } from '../domain/types.js';
import { isRequestOpen } from '../domain/records/subject-access.js';
import type { Notification, Store } from '../domain/repositories.js';
import { documentResource, personResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { mfaIds, passwordIds, personBeforeIds, personStateIds } from './person-state.js';
import { revokePersonAccess, revokeScimTokensIfNoLongerAllowed } from './person-revocation.js';
import { generatePassword, type IdentityService } from './identity.service.js';
import { signsInThroughProvider } from './invitations.service.js';
import type { MailService } from './mail.service.js';

export interface UserChange {
  roles?: string[];
  teams?: string[];
  clearance?: string;
}

/** The kind of notice that asks a partner's DPOs to search for a subject access request (SubjectAccessService). */
const SUBJECT_ACCESS_NOTICE = 'subject-access.asked';

/** What a password reset did: e-mailed a link to set a new password, or set a one-time password to be shown once. */
export interface PasswordReset {
  user: User;
  /** A link is e-mailed (e-mail configured): no password is set until they follow it. */
  emailed: boolean;
  /** Without e-mail: the password they now sign in with, to be handed over once; null when e-mailed. */
  oneTimePassword: string | null;
}

/** What a refused reset says to whoever may know the person exists (their own organisation's admins, the operator). */
const RESET_REFUSED: Readonly<Record<string, string>> = {
  self: 'You cannot reset your own password here: change it on your account page, where you give your current one.',
  person_disabled: 'This account is disabled: enable it first, then reset the password.',
  signs_in_through_provider: "This person's organisation signs in through its identity provider: they have no Strongroom password to reset. Their password is reset at the provider.",
};

export class UsersAdminService {
  constructor(private readonly o: {
    store: Store; clock: Clock; access: AccessService; identity: IdentityService;
    /** Hashes a password reset's one-time password (without e-mail). */
    passwords: PasswordHasher;
    /** When it delivers (SMTP configured), a password reset e-mails a link to set a new password instead of a one-time password. */
    mail?: MailService;
  }) {}

  private get repos() {
    return this.o.store.repos;
  }

  /** Everyone in the actor's organisation (org admins only). */
  async list(actor: Actor): Promise<User[]> {
    const organisationId = await this.requireManager(actor, {});
    return this.repos.users.listByOrganisation(organisationId);
  }

  /** The person, for their admin page: with what that page offers, asked of decide() (`mayResetPassword`). */
  async get(actor: Actor, userId: string): Promise<User & { mfaSecretPending: boolean; mayResetPassword: boolean }> {
    const { user } = await this.managed(actor, userId);
    const state = await this.repos.users.signInState(userId);
    const mayResetPassword = await this.o.access.may(actor, 'person.reset-password', await this.passwordResetResource(user));
    return { ...user, mfaSecretPending: Boolean(state?.mfa_secret) && !state?.mfa_enabled, mayResetPassword };
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
   * Resets a forgotten password (decide()'s `person.reset-password`: an org admin of the person's organisation,
   * or the operator; not one's own, not a switched-off account, not someone whose organisation signs in through
   * its identity provider). In one transaction: their password hash becomes null (sealed: "no password yet",
   * which is what an invitation link sets), every web session of theirs ends, and `user.password-reset` records
   * it with the binding `audit verify` checks. With e-mail configured they are e-mailed a link to set a new one
   * (a 'password-reset' message, whose link MailService makes when it sends it, as an invitation's); without it
   * a one-time password is set instead and returned, to be shown once.
   *
   * API tokens and WebDAV app passwords stay, and so does MFA: a reset is for a forgotten password. An account
   * that may be in someone else's hands is disabled instead, which revokes every credential (setDisabled).
   * A password not sealed (written into the database directly) is replaced like any other: this is how such
   * a person gets back in.
   */
  async resetPassword(actor: Actor, userId: string): Promise<PasswordReset> {
    // Another organisation's person, or an actor who manages nobody, is refused as for any other id: audited, 404.
    const { user } = await this.managed(actor, userId);
    const target = { organisationId: user.organisationId, ids: { userId } };
    const decision = await this.o.access.check(actor, 'person.reset-password', await this.passwordResetResource(user), target);
    if (!decision.allow) {
      const why = RESET_REFUSED[decision.reason];
      throw why ? invalid(why) : notFound('user');
    }
    // A disabling or a provider switched on between this decision and the commit leaves nothing usable: no mail
    // is sent to a switched-off person, and no link is made or taken for a provider's staff (MailService, InvitationsService).
    const emailed = this.o.mail?.delivers === true;
    const oneTimePassword = emailed ? null : generatePassword();
    const passwordHash = oneTimePassword === null ? null : await this.o.passwords.hash(oneTimePassword);
    const resetBy = actor.userId ? (await this.repos.users.byId(actor.userId))?.name ?? null : null;
    const organisationName = (await this.repos.organisations.byId(user.organisationId))?.name ?? '';
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      // The repository seals what it writes, null included: passwordStanding then says 'none', which a link may set.
      await repos.users.update(userId, { passwordHash });
      await repos.sessions.deleteForUser(userId);
      await repos.audit.insert([this.event(actor, 'user.password-reset', user, decision, { delivery: emailed ? 'e-mail' : 'one-time-password', ...passwordIds(userId, passwordHash) })]);
      if (emailed) await this.o.mail!.queue(repos.jobs, now, [userId], { kind: 'password-reset', organisationName, resetBy });
    });
    return { user, emailed, oneTimePassword };
  }

  /** The person as decide() is asked about a password reset: with whether they are switched off and sign in through a provider, read now. */
  private async passwordResetResource(user: User): Promise<PersonResource> {
    return { ...personResource(user), disabled: user.disabled, signsInThroughProvider: await signsInThroughProvider(this.o.store, user) };
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
