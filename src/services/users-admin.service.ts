// People administration for org admins (roles, teams, clearance, disable, MFA and password reset), and what
// a signed-in person's home page shows them (notices, recent documents they may read).
import type { Decision, PersonResource } from '../domain/access/policy.js';
import { DomainError, invalid, notFound } from '../domain/errors.js';
import { SHOWN_RESET_LINK_HOURS } from '../domain/mail/message.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, Classification, Document, User } from '../domain/types.js';
import { CLASSIFICATIONS } from '../domain/types.js';
import { isRequestOpen } from '../domain/records/subject-access.js';
import type { Notification, Repos, Store } from '../domain/repositories.js';
import { documentResource, lastAdminResource, personResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { mfaIds, passwordIds, personBeforeIds, personStateIds } from './person-state.js';
import { queueAccountNotice } from './account-notices.js';
import { revokePersonAccess, revokeScimTokensIfNoLongerAllowed } from './person-revocation.js';
import type { IdentityService } from './identity.service.js';
import type { UserCreationService } from './user-creation.service.js';
import { issueInvitationLink, signsInThroughProvider } from './invitations.service.js';
import type { MailService } from './mail.service.js';

export interface UserChange {
  roles?: string[];
  teams?: string[];
  clearance?: string;
}

/** The kind of notice that asks a partner's DPOs to search for a subject access request (SubjectAccessRequestsService). */
const SUBJECT_ACCESS_NOTICE = 'subject-access.asked';

/**
 * What a password reset did. Either way the person has no password until they follow a link that sets one, once:
 * e-mailed to them (e-mail configured), or (`link-shown`) made now and handed back to be shown once to whoever
 * reset it. Its `path` carries the token (never stored in clear): the caller puts the service's address before it.
 */
export type PasswordReset =
  | { user: User; delivery: 'e-mail' }
  | { user: User; delivery: 'link-shown'; link: { path: string; expiresAt: string } };

/** What a refused reset says to whoever may know the person exists (their own organisation's admins, the operator). */
const RESET_REFUSED: Readonly<Record<string, string>> = {
  self: 'You cannot reset your own password here: change it on your account page, where you give your current one.',
  person_disabled: 'This account is disabled: enable it first, then reset the password.',
  signs_in_through_provider: "This person's organisation signs in through its identity provider: they have no Strongroom password to reset. Their password is reset at the provider.",
};

/** The error a refused reset is answered with: its reason, said to whoever may know the person; otherwise as any id they do not manage (404). */
function resetRefused(decision: Decision): DomainError {
  const why = RESET_REFUSED[decision.reason];
  return why ? invalid(why) : notFound('user');
}

/** What a refused switching off, on, or MFA reset says to whoever may know the person; by action, then reason. */
const CHANGE_REFUSED: Readonly<Record<string, Readonly<Record<string, () => DomainError>>>> = {
  'person.disable': {
    self: () => invalid('You cannot disable your own account.'),
    last_org_admin: () => lastOrgAdmin('This is the only enabled org admin of the organisation: switching it off would leave nobody to manage its people. Give someone else the org admin role first (or ask the operator: strongroom user disable).'),
  },
  'person.enable': {
    self: () => invalid('You cannot switch your own account on: ask another org admin of your organisation.'),
  },
  'person.reset-mfa': {
    self: () => invalid('You cannot reset your own two-step verification: ask another org admin of your organisation.'),
  },
  'person.remove-org-admin': {
    self: () => invalid('You cannot remove your own org admin role; ask another org admin.', { field: 'roles' }),
    last_org_admin: () => lastOrgAdmin('This is the only enabled org admin of the organisation: taking the role away would leave nobody to manage its people. Give someone else the org admin role first.'),
  },
};

/** 409, with its reason: the directory's SCIM answer tells it from a uniqueness conflict (http/scim/errors.ts). */
const lastOrgAdmin = (message: string): DomainError => new DomainError('CONFLICT', message, { details: { reason: 'last_org_admin' } });

/** The error a refused change is answered with: its reason, when it has words for it; otherwise as any id they do not manage (404). */
export function changeRefused(action: PersonChange, decision: Decision): DomainError {
  return CHANGE_REFUSED[action]?.[decision.reason]?.() ?? notFound('user');
}

/** The actions of this service's changes to one person (switching off or on, resetting two-step verification, taking the org admin role). */
export type PersonChange = 'person.disable' | 'person.enable' | 'person.reset-mfa' | 'person.remove-org-admin';

/** The ids of the people a change involves, in one fixed order, so two changes lock their rows alike (no deadlock). */
const lockOrder = (...ids: (string | null)[]): string[] => [...new Set(ids.filter((id): id is string => id !== null))].sort();

/**
 * The person as decide() is asked about a password reset: with whether they are switched off and sign in
 * through a provider, read now (`store`: the Store, or a transaction's repositories as `{ repos }`).
 */
async function passwordResetResource(store: Pick<Store, 'repos'>, user: User): Promise<PersonResource> {
  return { ...personResource(user), disabled: user.disabled, signsInThroughProvider: await signsInThroughProvider(store, user) };
}

export class UsersAdminService {
  constructor(private readonly o: {
    store: Store; clock: Clock; access: AccessService; identity: Pick<IdentityService, 'actorWithin'>;
    /** The roles and teams a person may be given, checked as when they were added. */
    userCreation: Pick<UserCreationService, 'validRoles' | 'validTeams'>;
    /** The key invitation links are made and stored under (person-bound-token.ts): a reset without e-mail makes its link with it. */
    invitationKey: Buffer;
    /** When it delivers (SMTP configured), a password reset e-mails its link instead of handing it back to be shown. */
    mail?: MailService;
  }) {}

  private get repos() {
    return this.o.store.repos;
  }

  /** Everyone in the actor's organisation (org admins only; a read, `organisation.read-users`). */
  async list(actor: Actor): Promise<User[]> {
    const organisationId = await this.requirePeopleReader(actor, {});
    return this.repos.users.listByOrganisation(organisationId);
  }

  /**
   * The person, for their admin page: with what that page offers, asked of decide() (`mayResetPassword`,
   * `mayResetMfa`, `mayDisable`: not one's own, not the last enabled org admin).
   */
  async get(actor: Actor, userId: string): Promise<User & { mfaSecretPending: boolean; mayResetPassword: boolean; mayResetMfa: boolean; mayDisable: boolean }> {
    const { user } = await this.managed(actor, userId, 'organisation.read-users');
    const state = await this.repos.users.signInState(userId);
    const [mayResetPassword, mayResetMfa, mayDisable] = await Promise.all([
      this.o.access.may(actor, 'person.reset-password', await passwordResetResource(this.o.store, user)),
      this.o.access.may(actor, 'person.reset-mfa', personResource(user)),
      this.o.access.may(actor, 'person.disable', await lastAdminResource(this.o.store, user)),
    ]);
    return { ...user, mfaSecretPending: Boolean(state?.mfa_secret) && !state?.mfa_enabled, mayResetPassword, mayResetMfa, mayDisable };
  }

  /**
   * A person the actor manages, and the decision that says so (recorded in the change's event). Reading them is
   * asked as `organisation.read-users` (the same people may), so a read-only credential may.
   */
  private async managed(actor: Actor, userId: string, action: 'organisation.manage-users' | 'organisation.read-users' = 'organisation.manage-users'): Promise<{ user: User; decision: Decision }> {
    const user = await this.repos.users.byId(userId);
    if (!user) throw notFound('user');
    // Another organisation's person is refused by decide() (organisation scoping) and audited, like any other id.
    const decision = await this.o.access.requireOrganisation(actor, action, user.organisationId, { userId }, { missing: 'user' });
    return { user, decision };
  }

  /**
   * Inside a change's transaction: locks the acting admin's and the person's rows (in a fixed order, so two
   * changes never deadlock) and reads both as the transaction holds them: the admin as actorWithin judges them
   * now (a refusal audited as `auditAs`), the person as they are now (404 if gone).
   */
  private async heldForChange(repos: Repos, actor: Actor, userId: string, auditAs: string, target: { organisationId: string; ids: Record<string, string> }): Promise<{ acting: Actor; current: User } | { refused: DomainError }> {
    for (const id of lockOrder(actor.userId, userId)) await repos.users.lock(id);
    const acting = await this.o.identity.actorWithin(repos, actor, auditAs, target);
    if ('refused' in acting) return acting;
    const current = await repos.users.byId(userId);
    return current ? { acting: acting.actor, current } : { refused: notFound('user') };
  }

  /**
   * Changes a person's roles, teams and clearance. Decided inside the transaction, on the admin and the person as
   * it holds them (both rows locked in a fixed order, as setDisabled): an admin switched off, or whose role or
   * credential was taken away, while this request was under way is refused (audited), and the change is made to
   * the person as they are then (what was not asked to change keeps its value now, not the one read before).
   * Taking someone's org admin role is also decide()'s `person.remove-org-admin`: never one's own, never the last
   * enabled org admin's, so of two admins taking each other's role at once the second finds itself without it.
   */
  async update(actor: Actor, userId: string, change: UserChange): Promise<User> {
    const { user } = await this.managed(actor, userId);
    const roles = change.roles === undefined ? undefined : this.o.userCreation.validRoles(change.roles);
    const teams = change.teams === undefined ? undefined : this.o.userCreation.validTeams(change.teams);
    if (change.clearance !== undefined && !(CLASSIFICATIONS as readonly string[]).includes(change.clearance)) {
      throw invalid(`Clearance must be one of ${CLASSIFICATIONS.join(', ')}.`, { field: 'clearance' });
    }
    const target = { organisationId: user.organisationId, ids: { userId } };
    const outcome = await this.o.store.transaction(async (repos): Promise<{ refused: DomainError } | { updated: User }> => {
      const held = await this.heldForChange(repos, actor, userId, 'user.update', target);
      if ('refused' in held) return held;
      const { acting, current } = held;
      const decision = await this.o.access.checkWithin(repos, acting, 'organisation.manage-users', { kind: 'organisation', organisationId: current.organisationId }, target, { auditAs: 'user.update' });
      if (!decision.allow) return { refused: notFound('user') };
      const updated: User = { ...current, roles: roles ?? current.roles, teams: teams ?? current.teams, clearance: (change.clearance ?? current.clearance) as Classification };
      if (current.roles.includes('org_admin') && !updated.roles.includes('org_admin')) {
        const removal = await this.o.access.checkWithin(repos, acting, 'person.remove-org-admin', await lastAdminResource({ repos }, current), target, { auditAs: 'user.update' });
        if (!removal.allow) return { refused: changeRefused('person.remove-org-admin', removal) };
      }
      const before = await personBeforeIds(repos, userId);
      await repos.users.update(userId, { roles: updated.roles, teams: updated.teams, clearance: updated.clearance });
      // What changed goes into the event's ids; the decision is the one that allowed it.
      await repos.audit.insert([this.event(acting, 'user.update', current, decision, { roles: updated.roles.join('+'), teams: updated.teams.join('+'), clearance: updated.clearance, ...before, ...(await personStateIds(repos, userId)) })]);
      await revokeScimTokensIfNoLongerAllowed(repos, this.o.access, acting, updated, decision, this.o.clock.now());
      return { updated };
    });
    if ('refused' in outcome) throw outcome.refused;
    return outcome.updated;
  }

  /**
   * Disables (or re-enables) a person; their sessions end at once and their tokens and app passwords are revoked.
   * An admin's disabling is the organisation's decision, recorded as such (`disabledBy` 'admin', also over the
   * directory's): the directory cannot switch the account on again, only an org admin can (decide()'s
   * `person.enable`), and enabling clears the mark. Switching an account on that was off tells its owner (a
   * security notice, in the same transaction): a dormant account switched on is what someone with an admin's
   * access would do to use it. Switching one off tells nobody: it gives no one a way in, its owner learns of it
   * at their next sign-in, and it is done to a leaver or to an account that may be in someone else's hands,
   * whom a mail would warn (docs/email.md).
   */
  async setDisabled(actor: Actor, userId: string, disabled: boolean): Promise<void> {
    // Another organisation's person, or an actor who manages nobody, is refused as for any other id: audited, 404.
    const { user } = await this.managed(actor, userId);
    const action = disabled ? 'person.disable' : 'person.enable';
    const auditAs = disabled ? 'user.disable' : 'user.enable';
    const target = { organisationId: user.organisationId, ids: { userId } };
    const refused = await this.o.store.transaction(async (repos) => {
      // Decided here, on the actor and the person as this transaction holds them (both rows locked, in a fixed
      // order): an admin switched off while this request was under way is refused, and of two admins switching
      // each other off at once the second waits for the first (PostgreSQL; SQLite has one writer) and then finds
      // itself switched off. decide() refuses one's own account and the last enabled org admin (person.disable).
      const held = await this.heldForChange(repos, actor, userId, auditAs, target);
      if ('refused' in held) return held.refused;
      const { acting, current } = held;
      const resource = disabled ? await lastAdminResource({ repos }, current) : personResource(current);
      const decision = await this.o.access.checkWithin(repos, acting, action, resource, target, { auditAs });
      if (!decision.allow) return changeRefused(action, decision);
      const before = await personBeforeIds(repos, userId);
      // Conditional, so of two admins switching it on at once (or on an account already on) only one tells the person.
      const switchedOn = !disabled && (await repos.users.enableIfDisabledBy(userId));
      if (disabled) await repos.users.update(userId, { disabled, disabledBy: 'admin' });
      await repos.audit.insert([this.event(acting, auditAs, current, decision, { ...before, ...(await personStateIds(repos, userId)) })]);
      if (disabled) await revokePersonAccess(repos, acting, current, decision, this.o.clock.now());
      if (switchedOn) await queueAccountNotice(repos, acting, userId, { change: 'account-enabled' }, this.o.clock.now());
      return null;
    });
    if (refused) throw refused;
  }

  /**
   * Clears the authenticator and recovery codes: the person sets MFA up again at next sign-in. Not one's own
   * (decide()'s person.reset-mfa), decided on the actor as this transaction reads them, like setDisabled. Their
   * web sessions end either way (what the admin asked for when they fear a session is someone else's); only a
   * reset that cleared something is recorded as `user.mfa-reset` and tells them: resetting what is already reset
   * changes nothing of their account, and repeating it must not fill their inbox. One that cleared nothing but
   * ended sessions is recorded as `user.sessions-ended`, with no notice.
   */
  async resetMfa(actor: Actor, userId: string): Promise<void> {
    const { user } = await this.managed(actor, userId);
    const target = { organisationId: user.organisationId, ids: { userId } };
    const refused = await this.o.store.transaction(async (repos) => {
      const held = await this.heldForChange(repos, actor, userId, 'user.mfa-reset', target);
      if ('refused' in held) return held.refused;
      const { acting, current } = held;
      const decision = await this.o.access.checkWithin(repos, acting, 'person.reset-mfa', personResource(current), target, { auditAs: 'user.mfa-reset' });
      if (!decision.allow) return changeRefused('person.reset-mfa', decision);
      const cleared = await repos.users.resetMfa(userId);
      const sessionsEnded = await repos.sessions.deleteForUser(userId);
      if (!cleared) {
        // Nothing of their account changed, but whoever was signed in as them was signed out: that is recorded
        // (not as `user.mfa-reset`, whose binding says what MFA state it left), and tells them nothing.
        if (sessionsEnded > 0) await repos.audit.insert([this.event(acting, 'user.sessions-ended', current, decision, { sessions: String(sessionsEnded), by: 'mfa-reset' })]);
        return null;
      }
      await repos.audit.insert([this.event(acting, 'user.mfa-reset', current, decision, mfaIds(userId, false, null))]);
      await queueAccountNotice(repos, acting, userId, { change: 'mfa-reset' }, this.o.clock.now());
      return null;
    });
    if (refused) throw refused;
  }

  /**
   * Resets a forgotten password (decide()'s `person.reset-password`: an org admin of the person's organisation,
   * or the operator; not one's own, not a switched-off account, not someone whose organisation signs in through
   * its identity provider). In one transaction: every earlier link of theirs to set a password is withdrawn (an
   * invitation's or an earlier reset's, which the null below would otherwise make usable again), their password
   * hash becomes null (sealed: "no password yet", which is what a link sets), every web session of theirs ends,
   * and `user.password-reset` records it with the binding `audit verify` checks (null, whichever way the link
   * goes). With e-mail configured they are e-mailed a link (a 'password-reset' message, whose link MailService
   * makes when it sends it, as an invitation's). Without it the link is made here, for SHOWN_RESET_LINK_HOURS,
   * and its path returned to be shown once to whoever reset it: they hand it over, the person sets a password of
   * their own with it, once, and nobody else ever knows that password. No password is ever shown to anyone.
   *
   * Decided before the transaction (so a refusal costs no write) and again inside it, on the admin and the person
   * as the transaction holds them (both rows locked in a fixed order, the providers read with its repositories):
   * the person's disabling that commits in between, or a provider switched on, refuses the reset instead of
   * leaving a link behind, and so does the admin's own switching off (401, audited `account_disabled`, as
   * setDisabled) or the loss of their org admin role.
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
    const decided = await this.o.access.check(actor, 'person.reset-password', await passwordResetResource(this.o.store, user), target);
    if (!decided.allow) throw resetRefused(decided);
    const emailed = this.o.mail?.delivers === true;
    const resetBy = actor.userId ? (await this.repos.users.byId(actor.userId))?.name ?? null : null;
    const organisationName = (await this.repos.organisations.byId(user.organisationId))?.name ?? '';
    const now = this.o.clock.now();
    const expiresAt = new Date(now.getTime() + SHOWN_RESET_LINK_HOURS * 3_600_000);
    const outcome = await this.o.store.transaction(async (repos) => {
      // Asked again of the person as this transaction holds them: a disabling or a provider switched on since the
      // decision above refuses here (its deny event committed, nothing else written). A disabling waits for this
      // row (PostgreSQL; SQLite has one writer) and then withdraws the link made here (revokePersonAccess). A
      // provider switched on after the read below, before this commits, is not seen: its people's links are
      // refused when taken and not mailed (InvitationsService.live, MailService.deliver).
      // The admin is asked again too, as setDisabled asks (both rows locked in a fixed order): one switched off,
      // or whose role or credential was taken away, while this request was under way is refused, and no link made.
      const held = await this.heldForChange(repos, actor, userId, 'person.reset-password', target);
      if ('refused' in held) return held;
      const { acting, current } = held;
      const decision = await this.o.access.checkWithin(repos, acting, 'person.reset-password', await passwordResetResource({ repos }, current), target);
      if (!decision.allow) return { refused: resetRefused(decision) };
      await repos.mail.withdrawInvitations(userId);
      // The repository seals what it writes, null included: passwordStanding then says 'none', which a link may set.
      await repos.users.update(userId, { passwordHash: null });
      await repos.sessions.deleteForUser(userId);
      const shown = emailed ? null : await issueInvitationLink(repos.mail, this.o.invitationKey, userId, now, expiresAt);
      // A link shown is issued here, and named (its id, never its token) so `audit verify` knows it from one put back later.
      await repos.audit.insert([this.event(acting, 'user.password-reset', current, decision, { delivery: emailed ? 'e-mail' : 'link-shown', ...(shown ? { link: shown.link } : {}), ...passwordIds(userId, null) })]);
      if (emailed) await this.o.mail!.queue(repos.jobs, now, current.organisationId, [userId], { kind: 'password-reset', organisationName, resetBy });
      return { user: current, linkPath: shown?.path ?? null };
    });
    if ('refused' in outcome) throw outcome.refused;
    return outcome.linkPath === null ? { user: outcome.user, delivery: 'e-mail' }
      : { user: outcome.user, delivery: 'link-shown', link: { path: outcome.linkPath, expiresAt: expiresAt.toISOString() } };
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

  private async requirePeopleReader(actor: Actor, ids: Record<string, string>): Promise<string> {
    const organisationId = actor.organisationId ?? '';
    await this.o.access.requireOrganisation(actor, 'organisation.read-users', organisationId, ids);
    return organisationId;
  }

  private event(actor: Actor, action: string, user: User, decision: Decision, change: Record<string, string> = {}) {
    return auditEvent(actor, action, { organisationId: user.organisationId, ids: { userId: user.id, ...change } }, decision, this.o.clock.now());
  }
}
