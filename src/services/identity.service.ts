// Organisations, people and their credentials; turns a verified credential into an Actor.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { credentialBinding } from '../domain/audit/credential-record.js';
import { DomainError, conflict, forbidden, invalid, notFound } from '../domain/errors.js';
import { normaliseEmailDomain } from '../domain/identity/federation.js';
import { credentialsUsable, mfaRequired } from '../domain/identity/mfa.js';
import { checkPasswordStrength } from '../domain/passwords.js';
import type { Clock, PasswordHasher } from '../domain/ports.js';
import type { Actor, Channel, Classification, CredentialRef, CredentialScope, Organisation, Role, User } from '../domain/types.js';
import { CLASSIFICATIONS, CREDENTIAL_SCOPES, ROLES } from '../domain/types.js';
import type { Repos, SessionRow, Store } from '../domain/repositories.js';
import type { Decision } from '../domain/access/policy.js';
import type { AccessService } from './access.service.js';
import { refusedIfTaken } from './already-taken.js';
import { addressTaken, outsideOwnDomains } from './own-email-domains.js';
import { queueAccountNotice } from './account-notices.js';
import { auditEvent } from './audit-events.js';
import { personStateIds, signInSecretIds } from './person-state.js';
import type { MailService } from './mail.service.js';
import { unsealedSecrets, type SealAlarm } from './sign-in-seal-alarm.js';
import { isEmailAddress } from '../domain/identity/email-address.js';

export interface RequestInfo {
  channel: Channel;
  clientAddress: string | null;
  requestId: string | null;
}

export function systemActor(channel: Channel = 'cli'): Actor {
  return { kind: 'system', userId: null, organisationId: null, roles: [], teams: [], clearance: 'OFFICIAL-SENSITIVE', channel, clientAddress: null, requestId: null };
}

/** The person as an actor; `credential`: what the request was authenticated with (none for the CLI and jobs). */
export function actorFor(user: User, request: RequestInfo, credential?: CredentialRef): Actor {
  return {
    kind: 'user', userId: user.id, organisationId: user.organisationId, roles: user.roles, teams: user.teams,
    clearance: user.clearance, channel: request.channel, clientAddress: request.clientAddress, requestId: request.requestId,
    ...(credential ? { credential } : {}),
  };
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export interface NewUserInput {
  organisationSlug: string;
  email: string;
  name: string;
  roles: string[];
  teams: string[];
  clearance: string;
  password?: string;
}

/** How actorNow's refusals say what was in flight and what became of it. */
const REFUSED_MEANWHILE = {
  upload: { meanwhile: 'while this was being sent', outcome: 'so nothing was saved', again: 'send it again', againThis: 'send this again', credential: 'this was sent with was revoked while it was being sent' },
  download: { meanwhile: 'while this was being downloaded', outcome: 'so the download was stopped', again: 'download it again', againThis: 'download this again', credential: 'this download began with was revoked while it was under way' },
} as const;

export class IdentityService {
  constructor(private readonly o: {
    store: Store; clock: Clock; access: AccessService; serviceAreas: readonly string[]; passwords: PasswordHasher;
    /** Gives a new organisation its file plan, in the transaction that creates it (RetentionService.seedFilePlan). */
    filePlan?: { seed(repos: Repos, organisationId: string, actor: Actor, decision: Decision, now: Date): Promise<number> };
    /** When it delivers (SMTP configured), a person added without a password is e-mailed an invitation link instead. */
    mail?: MailService;
    /** Told (logged at error level) of a credential or MFA state whose seal does not match: someone wrote the database directly. */
    alarm?: SealAlarm;
  }) {}

  /** Adds an organisation: decide() lets the system (CLI administration) do it, and no user role. */
  async addOrganisation(actor: Actor, input: { slug: string; name: string; region?: string; kind?: string }): Promise<Organisation> {
    const id = randomUUID();
    const decision = await this.o.access.require(actor, 'organisation.create', { kind: 'organisation', organisationId: id }, { organisationId: null, ids: {} }, { missing: 'organisation' });
    if (!SLUG.test(input.slug)) throw invalid('The slug must be lower-case letters, digits and hyphens (e.g. "north-shire").', { field: 'slug' });
    if (!input.name.trim()) throw invalid('An organisation name is required.', { field: 'name' });
    const refuseIfTaken = async () => {
      if (await this.o.store.repos.organisations.bySlug(input.slug)) throw conflict(`An organisation with slug "${input.slug}" already exists.`);
    };
    await refuseIfTaken();
    const now = this.o.clock.now();
    const org: Organisation = { id, slug: input.slug, name: input.name.trim(), kind: input.kind ?? 'council', region: input.region ?? 'Unspecified', createdAt: now.toISOString() };
    await refusedIfTaken(() => this.o.store.transaction(async (repos) => {
      await repos.organisations.insert(org);
      await repos.audit.insert([auditEvent(actor, 'organisation.create', { organisationId: org.id, ids: { organisationId: org.id } }, decision, now)]);
      await this.o.filePlan?.seed(repos, org.id, actor, decision, now);
    }), refuseIfTaken);
    return org;
  }

  /** The e-mail domains assigned to the organisation (where its providers may make accounts just in time). */
  async emailDomains(slug: string): Promise<string[]> {
    return this.o.store.repos.federation.emailDomains((await this.organisationBySlug(slug)).id);
  }

  /**
   * Assigns and withdraws an organisation's e-mail domains: the operator's (system) alone. A domain belongs
   * to one organisation; assigning one another organisation holds is refused, naming nobody.
   */
  async changeEmailDomains(actor: Actor, slug: string, change: { add?: readonly string[]; remove?: readonly string[] }): Promise<string[]> {
    const org = await this.organisationBySlug(slug);
    const decision = await this.o.access.requireOrganisation(actor, 'organisation.email-domains', org.id);
    const parse = (text: string) => {
      const domain = normaliseEmailDomain(text);
      if (!domain) throw invalid(`"${text}" is not an e-mail domain: write it like northshire.gov.uk.`, { field: 'domain' });
      return domain;
    };
    const add = [...new Set((change.add ?? []).map(parse))];
    const remove = [...new Set((change.remove ?? []).map(parse))];
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      for (const domain of add) {
        const owner = await repos.federation.emailDomainOwner(domain);
        if (owner === org.id) continue;
        if (owner !== undefined || !(await repos.federation.addEmailDomain(org.id, domain, now.toISOString()))) {
          throw conflict(`The e-mail domain ${domain} is already assigned to another organisation. Withdraw it there first if it has moved.`);
        }
      }
      for (const domain of remove) await repos.federation.removeEmailDomain(org.id, domain);
      const domains = await repos.federation.emailDomains(org.id);
      await repos.audit.insert([auditEvent(actor, 'organisation.email-domains', { organisationId: org.id, ids: { organisationId: org.id, domains: domains.join(' ') } }, decision, now)]);
    });
    return this.o.store.repos.federation.emailDomains(org.id);
  }

  async organisationBySlug(slug: string): Promise<Organisation> {
    const org = await this.o.store.repos.organisations.bySlug(slug);
    if (!org) throw notFound(`organisation "${slug}"`);
    return org;
  }

  organisation(id: string): Promise<Organisation | undefined> {
    return this.o.store.repos.organisations.byId(id);
  }

  listOrganisations(): Promise<Organisation[]> {
    return this.o.store.repos.organisations.list();
  }

  /**
   * Creates a user. Without a password given:
   * - when the organisation signs in through its identity provider (`signsInWith`), they get no Strongroom
   *   password at all: the invitation (with e-mail configured) points at the organisation's sign-in page;
   * - otherwise, with e-mail configured they are e-mailed an invitation link to set one (`invited`); without
   *   it a generated password is returned, to be shown once.
   */
  async addUser(actor: Actor, input: NewUserInput): Promise<{ user: User; generatedPassword: string | null; invited: boolean; signsInWith: string | null }> {
    const org = await this.organisationBySlug(input.organisationSlug);
    const decision = await this.o.access.requireOrganisation(actor, 'organisation.manage-users', org.id);
    const email = input.email.trim().toLowerCase();
    if (!isEmailAddress(email)) throw invalid('Enter an e-mail address in the correct format, like name@example.gov.uk.', { field: 'email' });
    const roles = this.validRoles(input.roles);
    const teams = this.validTeams(input.teams);
    if (!(CLASSIFICATIONS as readonly string[]).includes(input.clearance)) throw invalid(`Clearance must be one of ${CLASSIFICATIONS.join(', ')}.`, { field: 'clearance' });
    // Anyone but the operator adds only addresses in the organisation's own domains, refused before the address
    // is looked up, so the answer never says whether another organisation has an account with it.
    if (actor.kind !== 'system') {
      const outside = await outsideOwnDomains(this.o.store.repos, org.id, email);
      if (outside) throw invalid(outside, { field: 'email' });
    }
    const refuseIfTaken = async () => {
      const holder = await this.o.store.repos.users.byEmail(email);
      if (holder) throw conflict(actor.kind === 'system' ? `A user with e-mail ${email} already exists.` : addressTaken(email, holder.organisationId, org.id));
    };
    await refuseIfTaken();
    // Staff of an organisation with an identity provider never see a Strongroom password (issue #15).
    const provider = input.password === undefined ? (await this.o.store.repos.federation.providers(org.id)).find((p) => p.enabled) ?? null : null;
    const signsInWith = provider?.name ?? null;
    const invited = input.password === undefined && this.o.mail?.delivers === true;
    const generatedPassword = input.password === undefined && !invited && !provider ? generatePassword() : null;
    const password = input.password ?? generatedPassword;
    if (password !== null) checkPasswordStrength(password);
    const now = this.o.clock.now();
    const user: User = {
      id: randomUUID(), organisationId: org.id, email, name: input.name.trim(), roles, teams,
      clearance: input.clearance as Classification, mfaEnabled: false, disabled: false, disabledBy: null, createdAt: now.toISOString(),
    };
    // An invited person has no password until they follow the link: nothing to guess meanwhile.
    const passwordHash = password === null ? null : await this.o.passwords.hash(password);
    const invitedBy = actor.userId ? (await this.o.store.repos.users.byId(actor.userId))?.name ?? null : null;
    await refusedIfTaken(() => this.o.store.transaction(async (repos) => {
      await repos.users.insert({ ...user, passwordHash });
      const ids = { userId: user.id, ...(invited ? { invitation: 'e-mail' } : {}), ...(await personStateIds(repos, user.id)), ...signInSecretIds(user.id, passwordHash) };
      await repos.audit.insert([auditEvent(actor, 'user.create', { organisationId: org.id, ids }, decision, now)]);
      if (invited) {
        await this.o.mail!.queue(repos.jobs, now, [user.id], {
          kind: 'invitation', organisationName: org.name, invitedBy, signInWith: provider ? { provider: provider.name, organisationSlug: org.slug } : null,
        });
      }
    }), refuseIfTaken);
    return { user, generatedPassword, invited, signsInWith };
  }

  validRoles(roles: string[]): Role[] {
    const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
    if (bad.length > 0) throw invalid(`Unknown role ${bad.join(', ')}: roles are ${ROLES.join(', ')}.`, { field: 'roles' });
    return [...new Set(roles.length === 0 ? ['member'] : roles)] as Role[];
  }

  validTeams(teams: string[]): string[] {
    const bad = teams.filter((t) => !this.o.serviceAreas.includes(t));
    if (bad.length > 0) throw invalid(`Unknown service area ${bad.join(', ')}: service areas are ${this.o.serviceAreas.join(', ')}.`, { field: 'teams' });
    return [...new Set(teams)];
  }

  /**
   * The actor as their person is now. A request that waited (an upload whose bytes took a while, a
   * download still flowing) must not act on the roles, teams and clearance it started with, nor at all
   * once its person has been switched off or removed meanwhile (which also revoked every credential
   * they had), nor once the credential it came with no longer signs them in: an API token or app
   * password revoked, a web session signed out, ended by an admin or past its lifetime
   * (`credential_revoked`, `session_ended`), or any credential whose person now needs a second factor
   * they have not set up (`mfa_not_set_up`) or whose MFA state is not sealed (`secrets_not_sealed`). Each is refused, audited as `action` on `target`. One read
   * by primary key for the credential, after the person's. Actors that are not a person are returned as
   * they are. `during`: what was in flight, for the refusal's words (an upload unless told).
   */
  async actorNow(actor: Actor, action: string, target: { organisationId: string | null; ids: Record<string, string> }, during: 'upload' | 'download' = 'upload'): Promise<Actor> {
    if (actor.kind !== 'user' || actor.userId === null) return actor;
    const now = await this.standing(this.o.store.repos, actor, actor.userId, REFUSED_MEANWHILE[during]);
    if ('refused' in now) throw await this.refuseNow(actor, action, target, now.reason, now.refused);
    return now.actor;
  }

  /**
   * The acting person as the caller's transaction reads them, after it locked their row (PostgreSQL; SQLite has
   * one writer): a change decided on the actor as their request began (an org admin switching someone off, a
   * token being made) must not be made once they were switched off or removed meanwhile, nor once the
   * credential the request came with no longer signs them in: the same checks as actorNow, each refused with
   * its reason (`account_disabled`, `session_ended`, `credential_revoked`, `secrets_not_sealed`,
   * `mfa_not_set_up`), read with the transaction's repositories. So a token being made by a web session that
   * its owner ended (by changing their password) meanwhile is refused, not made after the change. Their roles,
   * organisation and clearance are as they are now, so decide() asked again judges the change on them. A
   * refusal is audited in the transaction and handed back, so the caller commits it and throws it. Actors
   * that are not a person are returned as they are.
   */
  async actorWithin(repos: Repos, actor: Actor, action: string, target: { organisationId: string | null; ids: Record<string, string> }): Promise<{ actor: Actor } | { refused: DomainError }> {
    if (actor.kind !== 'user' || actor.userId === null) return { actor };
    const now = await this.standing(repos, actor, actor.userId, REFUSED_MEANWHILE.upload);
    if ('actor' in now) return now;
    await repos.audit.insert([auditEvent(actor, action, target, { allow: false, reason: now.reason, via: null }, this.o.clock.now())]);
    return { refused: now.refused };
  }

  /**
   * actorNow's and actorWithin's one judgement, read with `repos` (the Store's, or a transaction's): the person
   * as they are now, or why they may no longer act (the refusal's reason and error, in `words`). One read by
   * primary key for the credential, after the person's.
   */
  private async standing(repos: Repos, actor: Actor, userId: string, words: (typeof REFUSED_MEANWHILE)[keyof typeof REFUSED_MEANWHILE]): Promise<{ actor: Actor } | { reason: string; refused: DomainError }> {
    const user = await repos.users.byId(userId);
    if (!user || user.disabled) {
      return { reason: 'account_disabled', refused: new DomainError('UNAUTHENTICATED', `Your account was switched off ${words.meanwhile}, ${words.outcome}.`) };
    }
    if (actor.credential) {
      const credential = actor.credential;
      // A session whose provider vouched for MFA at sign-in has had its second factor, if not Strongroom's.
      let secondFactorDone = false;
      if (credential.kind === 'session') {
        const session = await this.sessionHolding(repos, credential.id, user.id);
        secondFactorDone = session?.providerMfa === true;
        if (!session) {
          return { reason: 'session_ended', refused: new DomainError('UNAUTHENTICATED', `You were signed out ${words.meanwhile}, ${words.outcome}. Sign in and ${words.again}.`) };
        }
      } else {
        const row = await repos.users.credentialById(credential.id);
        if (!row || row.revokedAt !== null || row.userId !== user.id || row.kind !== credential.kind) {
          const what = credential.kind === 'api_token' ? 'API token' : 'app password';
          return { reason: 'credential_revoked', refused: new DomainError('UNAUTHENTICATED', `The ${what} ${words.credential}, ${words.outcome}.`) };
        }
      }
      // The flag that says a second factor is set up is trusted only under its seal (sign-in-seals.ts), as at
      // sign-in: MFA written on by hand would otherwise keep a token of someone who never set it up working.
      if (mfaRequired(user.roles) && !secondFactorDone && !(await repos.users.mfaSealed(user.id))) {
        this.o.alarm?.(unsealedSecrets(user.id, credential.kind === 'session' ? undefined : credential.id));
        return { reason: 'secrets_not_sealed', refused: new DomainError('UNAUTHENTICATED', `Your sign-in was refused ${words.meanwhile}, ${words.outcome}.`) };
      }
      // A web session whose person now needs a second factor is sent to set one up; a token stops working.
      if (!credentialsUsable(user) && !secondFactorDone) {
        return { reason: 'mfa_not_set_up', refused: credential.kind === 'session'
          ? new DomainError('UNAUTHENTICATED', `Your role now needs two-factor authentication, ${words.outcome}. Set it up, then ${words.againThis}.`)
          : mfaNotSetUp() };
      }
    }
    return { actor: { ...actor, organisationId: user.organisationId, roles: user.roles, teams: user.teams, clearance: user.clearance } };
  }

  /** The web session (by the hash of its id) if it still exists, is fully signed in, is the person's, and is within its lifetime. */
  private async sessionHolding(repos: Repos, idHash: string, userId: string): Promise<SessionRow | null> {
    const row = await repos.sessions.byHash(idHash);
    return row !== undefined && row.userId === userId && row.stage === 'active' && Date.parse(row.expiresAt) > this.o.clock.now().getTime() ? row : null;
  }

  private async refuseNow(actor: Actor, action: string, target: { organisationId: string | null; ids: Record<string, string> }, reason: string, error: DomainError): Promise<DomainError> {
    await this.o.store.repos.audit.insert([auditEvent(actor, action, target, { allow: false, reason, via: null }, this.o.clock.now())]);
    return error;
  }

  /**
   * The person an administrator's command acts as (the CLI's `--as EMAIL`), as an actor on `channel`. The
   * operator speaks for them, so what would stop them signing in stops the command too: a person switched
   * off (by an org admin or the directory) is refused, audited as `action` refused (`account_disabled`), as
   * actorNow refuses one switched off mid-request. No credential is involved (the operator holds the data
   * directory), so no second factor is asked; decide() still judges each action on their roles as they are.
   */
  async actingAs(email: string, action: string, request: RequestInfo): Promise<Actor> {
    const user = await this.userByEmail(email);
    const actor = actorFor(user, request);
    if (user.disabled) {
      throw await this.refuseNow(actor, action, { organisationId: user.organisationId, ids: { userId: user.id } }, 'account_disabled',
        forbidden(`The account of ${user.email} is switched off: nothing can be done as them until it is switched on again.`));
    }
    return actor;
  }

  async userByEmail(email: string): Promise<User> {
    const user = await this.o.store.repos.users.byEmail(email.trim().toLowerCase());
    if (!user) throw notFound('user');
    return user;
  }

  userById(id: string): Promise<User | undefined> {
    return this.o.store.repos.users.byId(id);
  }

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

  /**
   * Creates an API token or WebDAV app password, with everything its person may do (`full`) or only what reads
   * (`read`, for a system that only pulls documents). The secret is returned once and stored only as a hash.
   * Making one is a change (decide()'s `person.manage-credentials`), so a read-only credential cannot make another.
   */
  async createCredential(actor: Actor, userId: string, kind: 'api_token' | 'app_password', name: string, scope: CredentialScope = 'full'): Promise<{ id: string; secret: string }> {
    if (!(CREDENTIAL_SCOPES as readonly string[]).includes(scope)) throw invalid(`The scope must be one of ${CREDENTIAL_SCOPES.join(', ')}.`, { field: 'scope' });
    const { user, decision } = await this.requireCredentialsOf(actor, userId);
    const prefix = kind === 'api_token' ? 'srt_' : 'srp_';
    const secret = prefix + randomBytes(32).toString('base64url');
    const id = randomUUID();
    const now = this.o.clock.now();
    const action = kind === 'api_token' ? 'token.create' : 'app-password.create';
    const target = { organisationId: user.organisationId, ids: { userId } };
    const refused = await this.o.store.transaction(async (repos) => {
      // Its holder (and whoever makes it) as they are now, their rows locked in a fixed order: a switching off
      // that committed while this request was under way refuses it; one that comes later waits for this commit
      // and then revokes what was made here (revokePersonAccess). Otherwise it would outlive the switching off.
      for (const id of [...new Set([userId, actor.userId ?? userId])].sort()) await repos.users.lock(id);
      const acting = await this.actorWithin(repos, actor, action, target);
      if ('refused' in acting) return acting.refused;
      const holder = await repos.users.byId(userId);
      if (!holder || holder.disabled) {
        await repos.audit.insert([auditEvent(actor, action, target, { allow: false, reason: 'person_disabled', via: null }, now)]);
        return holder ? invalid('This account is switched off: no API token or app password can be made for it.') : notFound('user');
      }
      const secretHash = hashSecret(secret);
      await repos.users.insertCredential({ id, userId, kind, name: name.trim() || kind, scope, secretHash, createdAt: now.toISOString(), lastUsedAt: null, revokedAt: null });
      // The binding lets `audit verify` tell this credential from one written into the database directly.
      const binding = credentialBinding({ id, userId, kind, secretHash });
      await repos.audit.insert([auditEvent(actor, action, { organisationId: user.organisationId, ids: { userId, credentialId: id, binding, scope } }, decision, now)]);
      await queueAccountNotice(repos, actor, userId, { change: kind === 'api_token' ? 'api-token-created' : 'app-password-created' }, now);
      return null;
    });
    if (refused) throw refused;
    return { id, secret };
  }

  /** The person's credentials, never a secret: a read (`person.read-credentials`), so a read-only credential may list them. */
  async listCredentials(actor: Actor, userId: string) {
    await this.requireCredentialsOf(actor, userId, 'person.read-credentials');
    return this.o.store.repos.users.listCredentials(userId);
  }

  /** Revokes one of the actor's own credentials. */
  async revokeCredential(actor: Actor, credentialId: string): Promise<void> {
    const { decision } = await this.requireCredentialsOf(actor, actor.userId ?? '');
    const mine = await this.o.store.repos.users.listCredentials(actor.userId ?? '');
    if (!mine.some((c) => c.id === credentialId)) throw notFound('credential');
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      await repos.users.revokeCredential(credentialId, now.toISOString());
      await repos.audit.insert([auditEvent(actor, 'credential.revoke', { organisationId: actor.organisationId, ids: { credentialId } }, decision, now)]);
    });
  }

  private async requireCredentialsOf(actor: Actor, userId: string, action: 'person.manage-credentials' | 'person.read-credentials' = 'person.manage-credentials') {
    const user = await this.o.store.repos.users.byId(userId);
    if (!user) throw notFound('user');
    const decision = await this.o.access.require(actor, action, { kind: 'person', userId: user.id, organisationId: user.organisationId }, { organisationId: user.organisationId, ids: { userId } });
    return { user, decision };
  }

  /**
   * Resolves a bearer token or app password to its user, and names the credential (for the Actor, so
   * a request that waits can check it again: actorNow). Unknown, revoked or disabled → UNAUTHENTICATED;
   * someone whose roles need a second factor they have not set up → FORBIDDEN (a token would skip it).
   * The user row is read on every request, so disabling someone or resetting their MFA takes effect at once.
   * A row whose seal does not match (written into the database directly: a secret of someone's choosing, or
   * pointed at another person), or a holder whose MFA state, which says whether their credentials are usable,
   * does not, is answered as an unknown credential, and audited as `auth.credential` refused.
   */
  async authenticateSecret(secret: string, allowed: ('api_token' | 'app_password')[]): Promise<{ user: User; credential: CredentialRef }> {
    const found = await this.o.store.repos.users.credentialBySecretHash(hashSecret(secret));
    if (!found || found.credential.revokedAt || !allowed.includes(found.credential.kind)) throw unauthenticated();
    const user = found.holder;
    // Read only for those whose roles need MFA: for anyone else the flag decides nothing here.
    if (!found.sealed || (mfaRequired(user.roles) && !(await this.o.store.repos.users.mfaSealed(user.id)))) {
      this.o.alarm?.(unsealedSecrets(user.id, found.credential.id));
      await this.o.store.repos.audit.insert([auditEvent(systemActor(found.credential.kind === 'api_token' ? 'api' : 'webdav'), 'auth.credential',
        { organisationId: user.organisationId, ids: { userId: user.id, credentialId: found.credential.id } }, { allow: false, reason: 'secrets_not_sealed', via: null }, this.o.clock.now())]);
      throw unauthenticated();
    }
    if (user.disabled) throw unauthenticated();
    if (!credentialsUsable(user)) throw mfaNotSetUp();
    return { user, credential: { kind: found.credential.kind, id: found.credential.id, scope: found.credential.scope } };
  }

  /** Whether `password` is the person's, as Strongroom wrote its hash (a hash whose seal does not match is no one's). */
  async verifyPassword(user: User, password: string): Promise<boolean> {
    const state = await this.o.store.repos.users.signInState(user.id);
    if (!state?.password_hash || !state.passwordSealed) return false;
    return this.o.passwords.verify(state.password_hash, password);
  }
}

const mfaNotSetUp = (): DomainError => new DomainError('FORBIDDEN',
  'Your role needs two-factor authentication, which you have not set up yet. Sign in to the web interface to set it up; until then your API tokens and app passwords do not work.');

export const unauthenticated = (): DomainError => new DomainError('UNAUTHENTICATED', 'Sign in first: a valid API token, app password or session is required.');

function generatePassword(): string {
  // 20 characters from a 56-character alphabet without look-alikes: ~116 bits.
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(20);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}
