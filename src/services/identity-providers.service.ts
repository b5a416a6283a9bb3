// The organisation's identity providers (OpenID Connect and SAML 2.0) and its directory group → access
// mapping, as its org admins configure them: every call asks AccessService ('organisation.identity'; reading
// them 'organisation.read-identity', which the same people may),
// every change is audited in the same transaction (ids and the fields changed, never a secret), and the
// OIDC client secret is sealed before it reaches the database. Also the sign-in page's list of provider
// buttons, and the "test sign-in" preview: what a verified identity would get, with nothing changed.
import { X509Certificate, randomUUID } from 'node:crypto';
import type { Decision } from '../domain/access/policy.js';
import { type DomainError, conflict, forbidden, invalid, notFound } from '../domain/errors.js';
import { emailDomainOf, isEmailAddress, mapGroups, providerDidMfa, type GroupMapping, type IdentityProvider, type MappedAccess } from '../domain/identity/federation.js';
import { mfaRequired } from '../domain/identity/mfa.js';
import type { SecretSealer } from '../domain/identity/ports.js';
import { checkGroupMappings, checkProvider, type GroupMappingInput, type ProviderInput } from '../domain/identity/provider-input.js';
import type { Clock } from '../domain/ports.js';
import type { Repos, Store } from '../domain/repositories.js';
import type { Actor, Organisation, User } from '../domain/types.js';
import { lastAdminResource, type AccessService } from './access.service.js';
import { isEnabledOrgAdminOf, LAST_ADMIN_FLOOR } from './scim-access.js';
import { unsealedFederation, type SealAlarm } from './sign-in-seal-alarm.js';
import { groupMappingsBinding, providerBinding } from '../domain/audit/identity-record.js';
import { auditEvent } from './audit-events.js';
import { changeDecidedWithin, organisationAction, type ActingWithin } from './decided-within.js';
import type { IdentityService } from './identity.service.js';
import { accountForFirstSignIn } from './own-email-domains.js';
import { FEDERATED_REFUSALS, type FederatedRefusal, type VerifiedExternalIdentity } from './federated-sign-in.service.js';

/** A provider as admins see it: everything but the secret, and whether one is stored. */
export type ProviderView = IdentityProvider & { hasClientSecret: boolean };

/** Configuring the organisation's sign-in, or only reading how it is configured. */
type IdentityAction = 'organisation.identity' | 'organisation.read-identity';

/** One button on the sign-in page. */
export interface SignInChoice {
  providerId: string;
  kind: IdentityProvider['kind'];
  name: string;
  organisationSlug: string;
  organisationName: string;
}

/** What a test sign-in found: who the provider says this is, and what Strongroom would do with them. */
export interface SignInPreview {
  identity: VerifiedExternalIdentity;
  /** The account it matches (by linked subject, else verified e-mail), if any. */
  match: { by: 'subject' | 'email'; user: Pick<User, 'id' | 'email' | 'name' | 'roles' | 'teams' | 'clearance'> } | null;
  /** Whether a first sign-in would create the account just in time. */
  wouldCreate: boolean;
  /** The access the groups map to (null: no mapped group, or groups are not read). */
  mapped: MappedAccess | null;
  /** The MFA step: trusted from the provider, TOTP, or TOTP set-up. */
  mfa: 'provider' | 'totp' | 'totp_setup' | 'none';
  /** Why the sign-in would be refused, in the words the person would see; null: it would succeed. */
  refusal: { reason: FederatedRefusal; message: string } | null;
}

export class IdentityProvidersService {
  constructor(private readonly o: {
    store: Store; clock: Clock; access: AccessService; sealer: SecretSealer; serviceAreas: readonly string[];
    /** Who the org admin is inside the transaction that writes their change (decided-within.ts). */
    identity: Pick<IdentityService, 'actorWithin'>;
    /** Told (logged at error level) when a test sign-in finds a provider or link whose seal does not match. */
    alarm?: SealAlarm;
  }) {}

  private get repos() {
    return this.o.store.repos;
  }

  /** The organisation's providers (org admins of that organisation only: anyone else is refused, 403, audited). */
  async list(actor: Actor, organisationId: string): Promise<ProviderView[]> {
    await this.requireAdmin(actor, organisationId, {}, 'organisation.read-identity');
    return Promise.all((await this.repos.federation.providers(organisationId)).map((p) => this.view(p)));
  }

  async get(actor: Actor, providerId: string): Promise<ProviderView> {
    const { provider } = await this.administered(actor, providerId, 'organisation.read-identity');
    return this.view(provider);
  }

  async add(actor: Actor, organisationId: string, input: ProviderInput): Promise<ProviderView> {
    await this.requireAdmin(actor, organisationId, {});
    const checked = checkProvider(input);
    const secret = (input.clientSecret ?? '').trim();
    if (checked.kind === 'oidc' && !secret) throw invalid('Enter the client secret (Entra ID: Certificates & secrets → the secret\'s Value)', { field: 'clientSecret' });
    const now = this.o.clock.now().toISOString();
    const provider: IdentityProvider = { id: randomUUID(), organisationId, ...checked, createdAt: now, updatedAt: now };
    await this.changeWithin(actor, organisationId, {}, 'identity-provider.add', ADMINS_ONLY(), async (repos, { actor: acting, decision }) => {
      const sealedSecret = checked.kind === 'oidc' ? this.o.sealer.seal(provider.id, secret) : null;
      await repos.federation.insertProvider(provider, sealedSecret);
      await repos.audit.insert([this.event(acting, 'identity-provider.add', provider, decision, { binding: providerBinding({ provider, sealedSecret }) })]);
    });
    return this.view(provider);
  }

  /** Replaces the provider's settings; an empty client secret keeps the stored one. The kind cannot change. */
  async update(actor: Actor, providerId: string, input: ProviderInput): Promise<ProviderView> {
    const { provider } = await this.administered(actor, providerId);
    if (input.kind !== undefined && input.kind !== provider.kind) throw invalid('A provider\'s kind cannot change: add a new provider instead', { field: 'kind' });
    const checked = checkProvider({ ...input, kind: provider.kind });
    const secret = (input.clientSecret ?? '').trim();
    const updated: IdentityProvider = { ...provider, ...checked, updatedAt: this.o.clock.now().toISOString() };
    await this.changeWithin(actor, provider.organisationId, { providerId }, 'identity-provider.update', notFound('identity provider'), async (repos, { actor: acting, decision }) => {
      // Saving re-seals the row: never over one written into the database directly (its organisation, a kept
      // secret or a setting the form shows as found would then sign people in as sealed).
      if (!(await repos.federation.signInProvider(provider.id))?.sealed) {
        this.o.alarm?.(unsealedFederation({ providerId: provider.id }));
        throw conflict('This provider\'s settings were changed outside Strongroom, so it cannot be saved: remove it and add it again.');
      }
      await repos.federation.updateProvider(updated, provider.kind === 'oidc' && secret ? this.o.sealer.seal(provider.id, secret) : undefined);
      // The settings as stored (the kept or new sealed secret too), so `audit verify` can tell a row changed directly.
      const binding = providerBinding({ provider: updated, sealedSecret: await repos.federation.sealedSecret(provider.id) });
      // A session this provider's MFA signed in was trusted on terms no longer in force: it signs in again.
      const ended = lessTrusted(provider, updated) ? await repos.sessions.deleteProviderMfaIn(provider.organisationId) : 0;
      await repos.audit.insert([this.event(acting, 'identity-provider.update', updated, decision, { ...(secret ? { secret: 'replaced' } : {}), binding, ...(ended ? { providerMfaSessionsEnded: String(ended) } : {}) })]);
    });
    return this.view(updated);
  }

  /** Removes the provider and every account link through it (the accounts stay). */
  async remove(actor: Actor, providerId: string): Promise<void> {
    const { provider } = await this.administered(actor, providerId);
    await this.changeWithin(actor, provider.organisationId, { providerId }, 'identity-provider.remove', notFound('identity provider'), async (repos, { actor: acting, decision }) => {
      await repos.federation.removeProvider(provider.id);
      const ended = await repos.sessions.deleteProviderMfaIn(provider.organisationId);
      await repos.audit.insert([this.event(acting, 'identity-provider.remove', provider, decision, ended ? { providerMfaSessionsEnded: String(ended) } : {})]);
    });
  }

  async groupMappings(actor: Actor, organisationId: string): Promise<GroupMapping[]> {
    await this.requireAdmin(actor, organisationId, {}, 'organisation.read-identity');
    return this.repos.federation.groupMappings(organisationId);
  }

  /** Sets the organisation's whole mapping (OIDC claims, SAML attributes and SCIM groups share it). */
  async setGroupMappings(actor: Actor, organisationId: string, rows: readonly GroupMappingInput[]): Promise<GroupMapping[]> {
    await this.requireAdmin(actor, organisationId, {});
    const mappings = checkGroupMappings(organisationId, rows, this.o.serviceAreas);
    await this.changeWithin(actor, organisationId, {}, 'identity.group-mappings', ADMINS_ONLY(), async (repos, { actor: acting, decision }) => {
      await repos.federation.replaceGroupMappings(organisationId, mappings);
      await repos.audit.insert([auditEvent(acting, 'identity.group-mappings', { organisationId, ids: { groups: String(mappings.length), binding: groupMappingsBinding(mappings) } }, decision, this.o.clock.now())]);
    });
    return mappings;
  }

  /**
   * The enabled providers people may sign in with, for the sign-in page: every organisation's, or one
   * organisation's when the page was opened with `?org=<slug>` (a council's own link). Public: a button
   * names only the provider and its organisation.
   */
  async signInChoices(organisationSlug?: string): Promise<SignInChoice[]> {
    const organisations: Organisation[] = organisationSlug
      ? [await this.repos.organisations.bySlug(organisationSlug)].filter((o): o is Organisation => o !== undefined)
      : await this.repos.organisations.list();
    const choices: SignInChoice[] = [];
    for (const organisation of organisations) {
      for (const p of await this.repos.federation.providers(organisation.id)) {
        if (p.enabled) choices.push({ providerId: p.id, kind: p.kind, name: p.name, organisationSlug: organisation.slug, organisationName: organisation.name });
      }
    }
    return choices.sort((a, b) => a.organisationName.localeCompare(b.organisationName) || a.name.localeCompare(b.name));
  }

  /** One provider's button as the sign-in page shows it; undefined when it is missing or switched off. */
  async signInChoice(providerId: string): Promise<SignInChoice | undefined> {
    const provider = /^[0-9a-f-]{36}$/i.test(providerId) ? await this.repos.federation.provider(providerId) : undefined;
    if (!provider?.enabled) return undefined;
    const organisation = await this.repos.organisations.byId(provider.organisationId);
    return organisation && { providerId: provider.id, kind: provider.kind, name: provider.name, organisationSlug: organisation.slug, organisationName: organisation.name };
  }

  /**
   * What signing in as `identity` would do, without doing it: no session, no link, no account, no change
   * of access. For the admin's "test sign-in"; the same rules as FederatedSignInService.complete.
   */
  async preview(actor: Actor, identity: VerifiedExternalIdentity): Promise<SignInPreview> {
    const { provider } = await this.administered(actor, identity.providerId);
    const groupsMapped = provider.groupsClaim === null ? null : mapGroups(await this.repos.federation.groupMappings(provider.organisationId), identity.groups);
    // Sealed as FederatedSignInService.complete asks: a row written into the database directly would be refused.
    const providerSealed = (await this.repos.federation.signInProvider(provider.id))?.sealed === true;
    const link = await this.repos.federation.signInIdentity(provider.id, identity.subject);
    if (!providerSealed || (link && !link.sealed)) this.o.alarm?.(unsealedFederation({ providerId: provider.id, ...(providerSealed && link ? { subject: link.subject, userId: link.userId } : {}) }));
    const linked = link?.sealed ? await this.repos.users.byId(link.userId) : undefined;
    const email = identity.email?.trim().toLowerCase() ?? null;
    const byEmail = !linked && email && identity.emailVerified ? await accountForFirstSignIn(this.repos, provider.organisationId, email) : undefined;
    const user = linked ?? byEmail;
    // As a real sign-in: the last enabled org admin whose groups map to nothing is let in, the last-admin rule keeping their role.
    const mapped = provider.groupsClaim !== null && groupsMapped === null && (await this.keptLastOrgAdmin(actor, provider.organisationId, user)) ? LAST_ADMIN_FLOOR : groupsMapped;
    const domainOwner = !user && email ? await this.repos.federation.emailDomainOwner(emailDomainOf(email)) : undefined;
    const refusal = ((): FederatedRefusal | null => {
      if (!providerSealed || (link && !link.sealed)) return 'secrets_not_sealed';
      if (!provider.enabled) return 'provider_disabled';
      if (provider.groupsClaim !== null && mapped === null) return 'no_mapped_group';
      if (!user && (!email || !identity.emailVerified)) return 'email_unverified';
      if (!user && email && !isEmailAddress(email)) return 'email_invalid';
      if (user && user.organisationId !== provider.organisationId) return 'other_organisation';
      if (!user && provider.createAccounts && domainOwner !== provider.organisationId) return 'email_domain';
      if (!user && !provider.createAccounts) return 'no_account';
      if (user?.disabled) return 'disabled';
      return null;
    })();
    const roles = mapped?.roles ?? user?.roles ?? ['member'];
    const mfaEnabled = user ? (await this.repos.users.signInState(user.id))?.mfa_enabled ?? false : false;
    const mfa = providerDidMfa(provider, identity) ? 'provider' : mfaEnabled ? 'totp' : mfaRequired(roles) ? 'totp_setup' : 'none';
    // The verdict a real sign-in gives (federated-sign-in.service.ts): without the provider's MFA, an MFA state not sealed refuses it.
    const verdict: FederatedRefusal | null = refusal ?? (user && mfa !== 'provider' && !(await this.repos.users.mfaSealed(user.id)) ? 'secrets_not_sealed' : null);
    return {
      identity,
      match: user && user.organisationId === provider.organisationId
        ? { by: linked ? 'subject' : 'email', user: { id: user.id, email: user.email, name: user.name, roles: user.roles, teams: user.teams, clearance: user.clearance } }
        : null,
      wouldCreate: !user && refusal === null,
      mapped,
      mfa,
      refusal: verdict ? { reason: verdict, message: FEDERATED_REFUSALS[verdict] } : null,
    };
  }

  /**
   * Whether decide() keeps this account's org admin role from the directory (`person.remove-org-admin` refused
   * `last_org_admin`), as FederatedSignInService asks it for an identity whose groups map to nothing; not audited.
   */
  private async keptLastOrgAdmin(actor: Actor, organisationId: string, user: User | undefined): Promise<boolean> {
    if (!isEnabledOrgAdminOf(user, organisationId)) return false;
    const decision = await this.o.access.decisionFor({ ...actor, kind: 'directory', organisationId, credential: undefined }, 'person.remove-org-admin', await lastAdminResource({ repos: this.repos }, user));
    return !decision.allow && decision.reason === 'last_org_admin';
  }

  /** A SAML provider's signing certificates as the admin checks them: subject, validity, expired or not. */
  certificateFacts(provider: IdentityProvider): { subject: string; validFrom: string; validTo: string; expired: boolean }[] {
    return (provider.saml?.idpCertificates ?? []).map((pem) => {
      try {
        const c = new X509Certificate(pem);
        return { subject: c.subject.replace(/\n/g, ', '), validFrom: new Date(c.validFrom).toISOString(), validTo: new Date(c.validTo).toISOString(), expired: new Date(c.validTo) < this.o.clock.now() };
      } catch {
        return { subject: '(not a certificate this server can read)', validFrom: '', validTo: '', expired: true };
      }
    });
  }

  /** May this person configure the organisation's sign-in? For pages deciding what to offer; not audited. */
  async mayConfigure(actor: Actor, organisationId: string): Promise<boolean> {
    const [allowed] = await this.o.access.can(actor, [{ action: 'organisation.identity', resource: { kind: 'organisation', organisationId } }]);
    return allowed === true;
  }

  private async view(provider: IdentityProvider): Promise<ProviderView> {
    return { ...provider, hasClientSecret: (await this.repos.federation.sealedSecret(provider.id)) !== null };
  }

  /**
   * A provider the actor administers: another organisation's is refused like a missing one (404, audited).
   * Reading it is asked as `organisation.read-identity` (the same people may), so a read-only credential may.
   */
  private async administered(actor: Actor, providerId: string, action: IdentityAction = 'organisation.identity'): Promise<{ provider: IdentityProvider; decision: Decision }> {
    const provider = await this.repos.federation.provider(providerId);
    if (!provider) throw notFound('identity provider');
    const decision = await this.o.access.requireOrganisation(actor, action, provider.organisationId, { providerId }, { missing: 'identity provider' });
    return { provider, decision };
  }

  /** An organisation-wide question: refused with 403 (the organisation is no secret), audited. */
  private async requireAdmin(actor: Actor, organisationId: string, ids: Record<string, string>, action: IdentityAction = 'organisation.identity'): Promise<Decision> {
    const decision = await this.o.access.check(actor, action, { kind: 'organisation', organisationId }, { organisationId, ids });
    if (!decision.allow) throw ADMINS_ONLY();
    return decision;
  }

  /**
   * Writes a change to how the organisation signs in, decided again (`organisation.identity`) on the org admin as
   * its transaction reads them: one switched off, signed out or no longer an org admin since the first decision
   * changes nothing (their refusal audited as `auditAs`, then thrown: `refused` where decide() refuses).
   */
  private changeWithin<T>(actor: Actor, organisationId: string, ids: Record<string, string>, auditAs: string, refused: DomainError, change: (repos: Repos, acting: ActingWithin) => Promise<T>): Promise<T> {
    return changeDecidedWithin(this.o, actor, [{ ...organisationAction('organisation.identity', organisationId, ids, auditAs, 'identity provider'), refused }], change);
  }

  private event(actor: Actor, action: string, provider: IdentityProvider, decision: Decision, extra: Record<string, string> = {}) {
    return auditEvent(actor, action, { organisationId: provider.organisationId, ids: { providerId: provider.id, kind: provider.kind, enabled: String(provider.enabled), ...extra } }, decision, this.o.clock.now());
  }
}

/** Told (403) to anyone but an org admin of the organisation who asks to configure its sign-in (the organisation is no secret). */
const ADMINS_ONLY = (): DomainError => forbidden('Only an org admin of this organisation can configure how its people sign in.');

/**
 * Whether a change takes trust away from sessions the provider's MFA signed in: the provider switched off,
 * or a value it was trusted by no longer listed. Sessions do not record which provider signed them in, so
 * every such session of the organisation ends (its people sign in again, asked for what is owed now).
 */
function lessTrusted(before: IdentityProvider, after: IdentityProvider): boolean {
  if (before.enabled && !after.enabled) return true;
  const dropped = (was: readonly string[], now: readonly string[]) => was.some((v) => !now.includes(v));
  return dropped(before.mfaAmrValues, after.mfaAmrValues) || dropped(before.mfaAcrValues, after.mfaAcrValues);
}
