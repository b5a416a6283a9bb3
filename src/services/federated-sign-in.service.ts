// The end of every sign-in through an organisation's identity provider, whatever the protocol: the OIDC
// and SAML adapters verify the provider's token or assertion, then hand this service what it proved. Here
// the person is found (by the subject already linked, else by a verified e-mail address of the provider's
// own organisation), created just in time if the organisation allows it, given the access their directory
// groups map to, and a session starts at the stage MFA asks for. Every refusal is audited and answered
// with a message a person understands.
import { randomUUID } from 'node:crypto';
import { AlreadyExistsError, DomainError } from '../domain/errors.js';
import { emailDomainOf, isEmailAddress, mapGroups, providerDidMfa, type IdentityProvider, type MappedAccess } from '../domain/identity/federation.js';
import { mfaRequired } from '../domain/identity/mfa.js';
import type { Clock } from '../domain/ports.js';
import type { Repos, Store } from '../domain/repositories.js';
import type { Actor, User } from '../domain/types.js';
import { linkBinding } from '../domain/audit/identity-record.js';
import type { AccessService } from './access.service.js';
import { queueAccountNotice } from './account-notices.js';
import { auditEvent } from './audit-events.js';
import { unsealedFederation, unsealedSecrets, type SealAlarm } from './sign-in-seal-alarm.js';
import { personBeforeIds, personStateIds, signInSecretIds } from './person-state.js';
import { revokeScimTokensIfNoLongerAllowed } from './person-revocation.js';
import { isEnabledOrgAdminOf, keepingLastOrgAdmin, LAST_ADMIN_FLOOR, lastOrgAdminRuleWithin, lockedLastAdminResource } from './scim-access.js';
import { accountForFirstSignIn } from './own-email-domains.js';
import { actorFor, type RequestInfo } from './identity.service.js';
import type { SessionStage, WebSessionsService } from './web-sessions.service.js';

/** What a protocol adapter proved about the person signing in (signature, issuer, audience, expiry all checked). */
export interface VerifiedExternalIdentity {
  providerId: string;
  /** The provider's stable id for the person: OIDC `sub`, or the SAML NameID (persistent). */
  subject: string;
  email: string | null;
  /** OIDC: `email_verified` is true. SAML: the signed assertion vouches for its attributes. */
  emailVerified: boolean;
  name: string | null;
  /** Group ids or names from the provider's groups claim or attribute; empty when it sends none. */
  groups: string[];
  amr: string[];
  acr: string | null;
}

/** Why a federated sign-in was refused: the audit reason, and the page's message. */
export const FEDERATED_REFUSALS = {
  provider_disabled: 'Signing in through this identity provider is switched off. Ask your organisation\'s Strongroom administrator.',
  email_unverified: 'Your identity provider did not confirm your e-mail address, so Strongroom cannot match it to an account. Ask your IT team to verify it.',
  email_invalid: 'Your identity provider sent an e-mail address Strongroom cannot use (it must be one address, like name@council.gov.uk). Ask your IT team to correct it.',
  other_organisation: 'Your account belongs to another organisation. Sign in through your own organisation\'s identity provider.',
  no_account: 'There is no Strongroom account for you in this organisation. Ask your organisation\'s Strongroom administrator to add you.',
  email_domain: 'Strongroom creates an account at first sign-in only for an address in your organisation\'s own e-mail domains, and yours is not one of them. Ask your organisation\'s Strongroom administrator to add you.',
  no_mapped_group: 'You are not in any directory group that gives access to Strongroom. Ask your IT team to add you to one.',
  disabled: 'Your Strongroom account is switched off. Ask your organisation\'s Strongroom administrator.',
  secrets_not_sealed: 'Your Strongroom account\'s two-factor authentication, or its link to your identity provider, must be reset before you can sign in. Ask your organisation\'s Strongroom administrator.',
} as const;
export type FederatedRefusal = keyof typeof FEDERATED_REFUSALS;

export class FederatedSignInRefused extends DomainError {
  constructor(readonly reason: FederatedRefusal) {
    super('UNAUTHENTICATED', FEDERATED_REFUSALS[reason]);
  }
}

export class FederatedSignInService {
  constructor(private readonly o: {
    store: Store; clock: Clock; access: Pick<AccessService, 'mayWithin' | 'checkWithin'>; webSessions: WebSessionsService;
    /** Told (logged at error level) of an MFA state, provider or link whose seal does not match: someone wrote the database directly. */
    alarm?: SealAlarm;
  }) {}

  /**
   * Signs the person in. Throws FederatedSignInRefused (audited as `auth.sign-in` refused, with the provider
   * and reason) when the identity may not sign in here.
   */
  async complete(identity: VerifiedExternalIdentity, request: RequestInfo, previousSessionId?: string): Promise<{ sessionId: string; stage: SessionStage; user: User }> {
    const repos = this.o.store.repos;
    const provider = await repos.federation.signInProvider(identity.providerId);
    const unknown = () => new DomainError('NOT_FOUND', 'That identity provider is not set up in Strongroom.');
    if (!provider) throw unknown();
    const how = `${provider.kind}:${provider.id}`;
    const refuse = async (reason: FederatedRefusal, user: User | null): Promise<never> => {
      await this.audit(user ? actorFor(user, request) : anonymous(request, provider), user, provider, false, `${how};${reason}`);
      throw new FederatedSignInRefused(reason);
    };
    // A provider row written into the database directly (its certificates or keys someone's own, its MFA
    // values trusting anything) vouches for nobody: answered like an unknown provider, audited and logged.
    if (!provider.sealed) {
      this.o.alarm?.(unsealedFederation({ providerId: provider.id }));
      await this.audit(anonymous(request, provider), null, provider, false, `${how};secrets_not_sealed`);
      throw unknown();
    }
    if (!provider.enabled) return refuse('provider_disabled', null);

    let mapped = provider.groupsClaim === null ? null : mapGroups(await repos.federation.groupMappings(provider.organisationId), identity.groups);
    // When the organisation reads groups from its directory, the directory is the truth: nobody outside a
    // mapped group signs in, and access follows the groups at every sign-in (leaving a group takes effect then).
    // Except the organisation's last enabled org admin, whose role the directory cannot take (decide()'s
    // person.remove-org-admin): refused sign-in, they would keep the role yet be locked out of the provider.
    const keptByLastAdminRule = provider.groupsClaim !== null && mapped === null ? await this.keptLastOrgAdmin(provider, identity, request) : null;
    if (provider.groupsClaim !== null && mapped === null && keptByLastAdminRule === null) {
      const linkedUser = await this.linkedUser(provider, identity.subject);
      return refuse('no_mapped_group', linkedUser ?? null);
    }
    mapped = keptByLastAdminRule ?? mapped;

    // A link written into the database directly (a subject pointed at someone, an org admin) signs nobody in.
    const link = await repos.federation.signInIdentity(provider.id, identity.subject);
    if (link && !link.sealed) {
      this.o.alarm?.(unsealedFederation({ providerId: provider.id, subject: identity.subject, userId: link.userId }));
      return refuse('secrets_not_sealed', null);
    }
    let user = link ? await repos.users.byId(link.userId) : undefined;
    if (!user) {
      if (!identity.email || !identity.emailVerified) return refuse('email_unverified', null);
      if (!isEmailAddress(identity.email.trim())) return refuse('email_invalid', null);
      const byEmail = await accountForFirstSignIn(repos, provider.organisationId, identity.email.trim().toLowerCase());
      if (byEmail && byEmail.organisationId !== provider.organisationId) return refuse('other_organisation', byEmail);
      if (!byEmail && provider.createAccounts && (await repos.federation.emailDomainOwner(emailDomainOf(identity.email))) !== provider.organisationId) {
        // A provider vouches for its own organisation's people only: another council's provider must not
        // make accounts for this council's addresses (which would block them here for ever).
        return refuse('email_domain', null);
      }
      const found = byEmail ?? (provider.createAccounts ? await this.createAccount(provider, identity, mapped, request) : undefined);
      // Two first sign-ins of one person racing: the other made the account first (its address is taken).
      // This one is answered as a later sign-in is, by starting again: it finds that account (or its link).
      if (found === null) return this.complete(identity, request, previousSessionId);
      if (!found) return refuse('no_account', null);
      user = found;
      const linked = await this.link(provider, identity, user, byEmail ? 'verified_email' : 'just_in_time', request);
      // Two first sign-ins racing: the other linked this subject; go on only if it linked it to the same person.
      if (!linked && (await this.linkedUser(provider, identity.subject))?.id !== user.id) return refuse('no_account', user);
    }
    if (user.organisationId !== provider.organisationId) return refuse('other_organisation', user);
    if (user.disabled) return refuse('disabled', user);
    if (mapped && (keptByLastAdminRule || !sameAccess(user, mapped))) {
      // The directory changed this person's access (it may make them an org admin): recorded like an admin's change.
      const changed = user;
      const directory = anonymous(request, provider);
      const decision = { allow: true, reason: `directory;${how}`, via: null };
      const granted = await this.o.store.transaction(async (trx) => {
        // Let in by the last-admin rule: only if they still are the last enabled org admin, asked again with the
        // rows locked, as the access written here is what the rule kept (another org admin switched on and their
        // role taken meanwhile must not see it written back). Else refused no_mapped_group, as anyone else.
        if (keptByLastAdminRule && !(await this.stillLastOrgAdmin(trx, provider, { ...directory, kind: 'directory' }, changed))) return null;
        // Never the org admin role of the organisation's last enabled org admin, as SCIM's groups cannot take it:
        // decide() is asked as of the organisation's directory (person.remove-org-admin), and refuses it.
        const access = await keepingLastOrgAdmin(trx, this.o.access, { ...directory, kind: 'directory' }, { userId: changed.id }, changed, mapped);
        if (sameAccess(changed, access)) return access;
        const before = await personBeforeIds(trx, changed.id);
        await trx.users.update(changed.id, { roles: access.roles, teams: access.teams, clearance: access.clearance });
        const ids = { userId: changed.id, roles: access.roles.join('+'), teams: access.teams.join('+'), clearance: access.clearance, ...before, ...(await personStateIds(trx, changed.id)) };
        await trx.audit.insert([auditEvent(directory, 'user.update', { organisationId: provider.organisationId, ids },
          decision, this.o.clock.now())]);
        // A group left in the directory can take away the role SCIM tokens are made with: theirs go with it.
        await revokeScimTokensIfNoLongerAllowed(trx, this.o.access, directory, { ...changed, ...access }, decision, this.o.clock.now());
        return access;
      });
      if (!granted) return refuse('no_mapped_group', user);
      user = { ...user, ...granted };
    }

    const state = await repos.users.signInState(user.id);
    const providerMfa = providerDidMfa(provider, identity);
    // Without the provider's MFA, the stage is Strongroom's MFA state: trusted only as Strongroom wrote it.
    if (!providerMfa && !state?.mfaSealed) {
      this.o.alarm?.(unsealedSecrets(user.id));
      return refuse('secrets_not_sealed', user);
    }
    const stage: SessionStage = providerMfa ? 'active' : state?.mfa_enabled ? 'mfa' : mfaRequired(user.roles) ? 'mfa_setup' : 'active';
    // Let in by the last-admin rule: the sign-in's event says so (the rule's refusal is its own `user.update` event).
    const reason = keptByLastAdminRule ? `${how};no_mapped_group;last_org_admin` : how;
    const sessionId = await this.o.webSessions.startVerifiedSession(user, stage, request, providerMfa ? `${reason}+provider_mfa` : reason, previousSessionId, { providerMfa });
    return { sessionId, stage, user };
  }

  /**
   * For an identity whose groups map to no group: the access it signs in with when the account it would sign in
   * to (its sealed link, else its verified address in the provider's organisation, as a first sign-in matches)
   * is the organisation's enabled last org admin, whose role decide() does not let the directory take
   * (`person.remove-org-admin` refused `last_org_admin`, audited as a refused `user.update`): the floor with the
   * org admin role, as SCIM leaves them. Null for anyone else (switched off, no longer an org admin, another
   * organisation's, one of several org admins, nobody): they are refused `no_mapped_group`, nothing linked.
   * Asked before linking; stillLastOrgAdmin asks again where the access is written.
   */
  private async keptLastOrgAdmin(provider: IdentityProvider, identity: VerifiedExternalIdentity, request: RequestInfo): Promise<MappedAccess | null> {
    const repos = this.o.store.repos;
    const link = await repos.federation.signInIdentity(provider.id, identity.subject);
    const email = identity.email?.trim().toLowerCase() ?? '';
    const candidate = link
      ? (link.sealed ? await repos.users.byId(link.userId) : undefined)
      : identity.emailVerified && isEmailAddress(email) ? await accountForFirstSignIn(repos, provider.organisationId, email) : undefined;
    if (!isEnabledOrgAdminOf(candidate, provider.organisationId)) return null;
    const directory: Actor = { ...anonymous(request, provider), kind: 'directory' };
    return this.o.store.transaction(async (trx) => {
      const person = await trx.users.byId(candidate.id);
      if (!isEnabledOrgAdminOf(person, provider.organisationId)) return null;
      const decision = await lastOrgAdminRuleWithin(trx, this.o.access, directory, { userId: person.id, providerId: provider.id }, person);
      return !decision.allow && decision.reason === 'last_org_admin' ? LAST_ADMIN_FLOOR : null;
    });
  }

  /**
   * Whether the account let in by the last-admin rule (keptLastOrgAdmin) still is the provider's organisation's
   * enabled last org admin, in the caller's transaction with its enabled org admins' rows locked: decide()'s
   * `person.remove-org-admin` of the directory, not audited again (keptLastOrgAdmin audited the refusal).
   */
  private async stillLastOrgAdmin(trx: Repos, provider: IdentityProvider, directory: Actor, user: User): Promise<boolean> {
    const { person, resource } = await lockedLastAdminResource(trx, user);
    return isEnabledOrgAdminOf(person, provider.organisationId) && !(await this.o.access.mayWithin(trx, directory, 'person.remove-org-admin', resource));
  }

  private async linkedUser(provider: IdentityProvider, subject: string): Promise<User | undefined> {
    const link = await this.o.store.repos.federation.identity(provider.id, subject);
    return link ? this.o.store.repos.users.byId(link.userId) : undefined;
  }

  /**
   * Links the provider's subject to the account (from now on the subject alone signs them in), with its
   * audit event in the same transaction: an existing account (a password one too) gaining a way in is a change.
   * False when another sign-in linked the subject first.
   */
  private async link(provider: IdentityProvider, identity: VerifiedExternalIdentity, user: User, by: 'verified_email' | 'just_in_time', request: RequestInfo): Promise<boolean> {
    const now = this.o.clock.now();
    return this.o.store.transaction(async (repos) => {
      const linked = await repos.federation.link({ providerId: provider.id, subject: identity.subject, userId: user.id, linkedAt: now.toISOString() });
      if (linked) {
        // The binding (subject included) lets `audit verify` tell this link from one written into the database directly.
        const binding = linkBinding({ providerId: provider.id, subject: identity.subject, userId: user.id });
        await repos.audit.insert([auditEvent(anonymous(request, provider), 'identity.link', { organisationId: provider.organisationId, ids: { userId: user.id, providerId: provider.id, binding } },
          { allow: true, reason: `${provider.kind}:${provider.id};${by}`, via: null }, now)]);
        // An account that existed (a password one, perhaps) gained a way in: its owner is told. A new one is not.
        if (by === 'verified_email') await queueAccountNotice(repos, anonymous(request, provider), user.id, { change: 'provider-linked', by: 'identity-provider', detail: provider.name }, now);
      }
      return linked;
    });
  }

  /**
   * A just-in-time account: no password (the provider is the way in), the access the groups map to. Null
   * when another request took the address since it was found free (nothing was written).
   */
  private async createAccount(provider: IdentityProvider, identity: VerifiedExternalIdentity, mapped: MappedAccess | null, request: RequestInfo): Promise<User | null> {
    const now = this.o.clock.now();
    const email = identity.email!.trim().toLowerCase();
    const access = mapped ?? { roles: ['member' as const], teams: [], clearance: 'OFFICIAL' as const };
    const user: User = {
      id: randomUUID(), organisationId: provider.organisationId, email, name: identity.name?.trim() || email, ...access,
      mfaEnabled: false, disabled: false, disabledBy: null, createdAt: now.toISOString(),
    };
    return this.o.store.transaction(async (repos) => {
      await repos.users.insert({ ...user, passwordHash: null });
      await repos.audit.insert([auditEvent(anonymous(request, provider), 'user.create', { organisationId: provider.organisationId, ids: { userId: user.id, ...(await personStateIds(repos, user.id)), ...signInSecretIds(user.id, null) } },
        { allow: true, reason: `just_in_time;${provider.kind}:${provider.id}`, via: null }, now)]);
    }).then(() => user, (error: unknown) => {
      if (error instanceof AlreadyExistsError) return null;
      throw error;
    });
  }

  private async audit(actor: Actor, user: User | null, provider: IdentityProvider, allow: boolean, reason: string): Promise<void> {
    await this.o.store.repos.audit.insert([
      auditEvent(actor, 'auth.sign-in', { organisationId: provider.organisationId, ids: user ? { userId: user.id } : {} }, { allow, reason, via: null }, this.o.clock.now()),
    ]);
  }
}

/** Someone not yet known: recorded against the provider's organisation, with no user id. */
function anonymous(request: RequestInfo, provider: IdentityProvider): Actor {
  return { kind: 'user', userId: null, organisationId: provider.organisationId, roles: [], teams: [], clearance: 'OFFICIAL', channel: request.channel, clientAddress: request.clientAddress, requestId: request.requestId };
}

function sameAccess(user: User, access: MappedAccess): boolean {
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);
  return same(user.roles, access.roles) && same(user.teams, access.teams) && user.clearance === access.clearance;
}
