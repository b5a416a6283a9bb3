// SAML 2.0 sign-in (SP-initiated): sends the browser to the organisation's identity provider with an
// AuthnRequest, and checks what comes back before FederatedSignInService signs the person in. The
// protocol adapter checks the signed assertion (signature, audience, validity window, InResponseTo);
// here the rest: the request was started by this browser and is used once, the assertion is used once
// on every node (repos.federation.useOnce until it expires), its Issuer is the provider's entity id and
// it is addressed to this provider's reply URL. Every refusal is audited and told in words, and so is an
// answer left unchecked because too many were waiting (busy).
// An administrator's test sign-in runs the same checks and shows the outcome, signing nobody in.
import { randomBytes } from 'node:crypto';
import { DomainError } from '../domain/errors.js';
import { type IdentityProvider, type MappedAccess, type SamlSettings } from '../domain/identity/federation.js';
import {
  SAML_CLOCK_SKEW_MS, SAML_REQUEST_LIFETIME_MS, SamlChecksBusyError, SamlRefused, assertedEmail, assertedName, samlServiceProvider,
  type SamlAssertion, type SamlPendingRequest, type SamlProtocol, type SamlServiceProvider,
} from '../domain/identity/saml.js';
import type { Clock } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import type { Actor, User } from '../domain/types.js';
import type { AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import type { FederatedRefusal, FederatedSignInService, VerifiedExternalIdentity } from './federated-sign-in.service.js';
import type { IdentityProvidersService } from './identity-providers.service.js';
import type { RequestInfo } from './identity.service.js';
import { TurnGate } from './turn-gate.js';
import type { SessionStage } from './web-sessions.service.js';

/**
 * The answers checked at once (the protocol's one SAML thread checks one at a time) and waiting their turn;
 * one more is refused as busy (503, Retry-After). An honest answer takes some milliseconds, so sixteen
 * waiting is a whole office signing in at once; a flood of large signed answers (a second each) waits at
 * most some sixteen seconds behind the one checked, and holds at most 17 MiB of answers in memory.
 * The queue is every organisation's, so one organisation's answers hold at most `perOrganisation` places
 * (checked and waiting) and one more of its is refused as busy: a flood at one organisation's reply URL
 * (anyone may start a sign-in there; its IdP admin may sign large answers) leaves the others room.
 */
export const SAML_CHECK_LIMITS = { running: 1, waiting: 16, perOrganisation: 4, retryAfterSeconds: 5 };

/** What an administrator's test sign-in shows: what the provider asserted, and what Strongroom would make of it. */
export interface SamlTestOutcome {
  provider: IdentityProvider;
  identity: VerifiedExternalIdentity;
  nameIdFormat: string | null;
  attributes: Record<string, string[]>;
  /** The access the asserted groups map to (null: no group matches, or groups are not read). */
  mapped: MappedAccess | null;
  /** The account the identity already matches in the provider's organisation, if any. */
  account: Pick<User, 'id' | 'email' | 'name'> | null;
  /** In words: would this person be signed in, and how. */
  verdict: string;
}

/** How the admin's test page words a refusal (said to the admin, about the person); others use the person's own message. */
const SAML_TEST_REFUSALS: Partial<Record<FederatedRefusal, string>> = {
  no_mapped_group: 'none of the person\'s groups is mapped to access in Strongroom.',
  other_organisation: 'that e-mail address belongs to an account in another organisation.',
  disabled: 'the matching account is switched off.',
  email_unverified: 'the provider sent no e-mail address, so no account can be matched or created.',
  email_invalid: 'the provider sent something that is not one e-mail address, so no account can be matched or created.',
  no_account: 'there is no account for this person, and this provider does not create accounts.',
};

export class SamlSignInService {
  readonly #checks = new TurnGate(SAML_CHECK_LIMITS, () => new SamlChecksBusyError(SAML_CHECK_LIMITS.retryAfterSeconds));
  /** Each organisation's answers checked or waiting in #checks (absent: none). */
  readonly #held = new Map<string, number>();

  constructor(private readonly o: {
    store: Store; clock: Clock; access: AccessService; federatedSignIn: FederatedSignInService; protocol: SamlProtocol;
    /** The test sign-in's verdict: the same rules as a real sign-in, as the OIDC test asks them. */
    previews: Pick<IdentityProvidersService, 'preview'>;
    /** STRONGROOM_PUBLIC_URL: the entity id and reply URL are built from it, never from a request's Host. */
    publicUrl: string | undefined;
  }) {}

  /** The SP's entity id and reply URL for this provider (what its administrators enter at the IdP). */
  serviceProvider(providerId: string): SamlServiceProvider {
    if (!this.o.publicUrl) {
      throw new DomainError('UNAVAILABLE', 'SAML sign-in is not available: the service\'s public address (STRONGROOM_PUBLIC_URL) is not set. Ask the people who run Strongroom.');
    }
    return samlServiceProvider(this.o.publicUrl, providerId);
  }

  async metadata(providerId: string): Promise<string> {
    await this.samlProvider(providerId);
    return this.o.protocol.metadata(this.serviceProvider(providerId));
  }

  /**
   * Starts a sign-in (or, for an administrator of the provider's organisation, a test sign-in): the
   * request to remember in this browser, and the provider's URL to send it to.
   */
  async start(providerId: string, options: { next: string; test?: { actor: Actor } }): Promise<{ redirectUrl: string; pending: SamlPendingRequest }> {
    const { provider, settings } = await this.samlProvider(providerId);
    if (options.test) await this.o.access.requireOrganisation(options.test.actor, 'organisation.identity', provider.organisationId, { providerId });
    else if (!provider.enabled) throw new DomainError('FORBIDDEN', 'Signing in through this identity provider is switched off. Ask your organisation\'s Strongroom administrator.');
    // An xs:ID must not start with a digit.
    const pending: SamlPendingRequest = {
      requestId: `_${randomBytes(20).toString('hex')}`, providerId, issuedAt: this.o.clock.now().getTime(),
      mode: options.test ? 'test' : 'sign-in', next: options.next,
    };
    return { redirectUrl: await this.o.protocol.requestUrl(settings, this.serviceProvider(providerId), pending.requestId), pending };
  }

  /** Checks the provider's response and signs the person in (FederatedSignInService: match, JIT, MFA stage). */
  async finish(providerId: string, samlResponse: string, pending: SamlPendingRequest | null, request: RequestInfo, previousSessionId?: string): Promise<{ sessionId: string; stage: SessionStage; user: User }> {
    const { identity } = await this.verified(providerId, samlResponse, pending, 'sign-in', request);
    return this.o.federatedSignIn.complete(identity, request, previousSessionId);
  }

  /** Checks the response like `finish`, and says what it asserted and what access it maps to; signs nobody in. */
  async test(providerId: string, samlResponse: string, pending: SamlPendingRequest | null, actor: Actor): Promise<SamlTestOutcome> {
    const { provider: found } = await this.samlProvider(providerId);
    await this.o.access.requireOrganisation(actor, 'organisation.identity', found.organisationId, { providerId });
    const request = { channel: actor.channel, clientAddress: actor.clientAddress, requestId: actor.requestId };
    const { provider, identity, assertion } = await this.verified(providerId, samlResponse, pending, 'test', request, actor);
    const preview = await this.o.previews.preview(actor, identity);
    const user = preview.match?.user ?? null;
    const verdict = preview.refusal ? `Refused: ${SAML_TEST_REFUSALS[preview.refusal.reason] ?? preview.refusal.message}`
      : user ? `Signed in as the existing account ${user.email}${preview.match?.by === 'subject' ? ' (already linked)' : ' (linked by e-mail address at first sign-in)'}.`
      : `A new account would be created for ${identity.email}.`;
    await this.o.store.repos.audit.insert([auditEvent(actor, 'identity-provider.test', { organisationId: provider.organisationId, ids: { providerId } }, { allow: true, reason: `saml:${providerId}`, via: null }, this.o.clock.now())]);
    return {
      provider, identity, nameIdFormat: assertion.nameIdFormat, attributes: assertion.attributes, mapped: preview.mapped,
      account: user ? { id: user.id, email: user.email, name: user.name } : null, verdict,
    };
  }

  private async samlProvider(providerId: string): Promise<{ provider: IdentityProvider; settings: SamlSettings }> {
    const provider = /^[0-9a-f-]{36}$/i.test(providerId) ? await this.o.store.repos.federation.provider(providerId) : undefined;
    if (!provider || provider.kind !== 'saml' || !provider.saml) throw new DomainError('NOT_FOUND', 'There is no SAML identity provider at this address.');
    return { provider, settings: provider.saml };
  }

  /** Runs `work` in its turn at the SAML checks, within the organisation's share of them (SAML_CHECK_LIMITS). */
  async #inTurn<T>(organisationId: string, work: () => Promise<T>): Promise<T> {
    const held = this.#held.get(organisationId) ?? 0;
    if (held >= SAML_CHECK_LIMITS.perOrganisation) throw new SamlChecksBusyError(SAML_CHECK_LIMITS.retryAfterSeconds);
    this.#held.set(organisationId, held + 1);
    try {
      return await this.#checks.inTurn(work);
    } finally {
      const left = this.#held.get(organisationId)! - 1;
      if (left === 0) this.#held.delete(organisationId);
      else this.#held.set(organisationId, left);
    }
  }

  /** Every check of one response, in order; a refusal is audited against the provider's organisation. */
  private async verified(providerId: string, samlResponse: string, pending: SamlPendingRequest | null, mode: SamlPendingRequest['mode'], request: RequestInfo, actor?: Actor): Promise<{ provider: IdentityProvider; identity: VerifiedExternalIdentity; assertion: SamlAssertion }> {
    const { provider, settings } = await this.samlProvider(providerId);
    const sp = this.serviceProvider(providerId);
    const now = this.o.clock.now();
    try {
      // The browser must hold the request it started, for this provider and this purpose, recently.
      if (!pending || pending.providerId !== providerId || pending.mode !== mode || now.getTime() - pending.issuedAt > SAML_REQUEST_LIFETIME_MS || now.getTime() < pending.issuedAt - SAML_CLOCK_SKEW_MS) {
        throw new SamlRefused('not_this_browser', pending ? 'the request this browser holds is for another provider, purpose or has expired' : 'this browser holds no request');
      }
      if (typeof samlResponse !== 'string' || samlResponse.length === 0 || !/^[A-Za-z0-9+/=\s]+$/.test(samlResponse)) throw new SamlRefused('malformed', 'no base64 SAMLResponse');
      const assertion = await this.#inTurn(provider.organisationId, () => this.o.protocol.verify(settings, sp, samlResponse, pending));
      if (assertion.issuer !== settings.idpEntityId || (assertion.responseIssuer !== null && assertion.responseIssuer !== settings.idpEntityId)) {
        throw new SamlRefused('issuer', `issuer ${assertion.issuer} / ${String(assertion.responseIssuer)}, expected ${settings.idpEntityId}`);
      }
      if (assertion.recipient !== sp.acsUrl || (assertion.destination !== null && assertion.destination !== sp.acsUrl)) {
        throw new SamlRefused('recipient', `recipient ${String(assertion.recipient)} / destination ${String(assertion.destination)}, expected ${sp.acsUrl}`);
      }
      // Used once, on every node: the assertion until it could no longer be accepted anyway, and the request.
      const until = new Date(Math.max(Date.parse(assertion.notOnOrAfter ?? '') || 0, now.getTime() + SAML_REQUEST_LIFETIME_MS) + SAML_CLOCK_SKEW_MS).toISOString();
      if (!(await this.o.store.repos.federation.useOnce(`saml-assertion:${settings.idpEntityId}:${assertion.assertionId}`, until, now.toISOString()))) {
        throw new SamlRefused('replayed', `assertion ${assertion.assertionId} was already used`);
      }
      const requestUntil = new Date(pending.issuedAt + SAML_REQUEST_LIFETIME_MS + SAML_CLOCK_SKEW_MS).toISOString();
      if (!(await this.o.store.repos.federation.useOnce(`saml-request:${pending.requestId}`, requestUntil, now.toISOString()))) {
        throw new SamlRefused('replayed', `request ${pending.requestId} was already answered`);
      }
      const identity: VerifiedExternalIdentity = {
        providerId, subject: assertion.nameId, email: assertedEmail(settings, assertion),
        // The provider signed the assertion: the address in it is the directory's, vouched for by the signature.
        emailVerified: true, name: assertedName(assertion),
        groups: provider.groupsClaim ? assertion.attributes[provider.groupsClaim] ?? [] : [],
        amr: [], acr: assertion.authnContextClassRef,
      };
      return { provider, identity, assertion };
    } catch (error) {
      if (!(error instanceof SamlRefused || error instanceof SamlChecksBusyError)) throw error;
      const who: Actor = actor ?? {
        kind: 'user', userId: null, organisationId: provider.organisationId, roles: [], teams: [], clearance: 'OFFICIAL',
        channel: request.channel, clientAddress: request.clientAddress, requestId: request.requestId,
      };
      await this.o.store.repos.audit.insert([auditEvent(who, mode === 'test' ? 'identity-provider.test' : 'auth.sign-in', { organisationId: provider.organisationId, ids: { providerId } },
        { allow: false, reason: `saml:${providerId};${error instanceof SamlRefused ? error.reason : 'busy'}`, via: null }, now)]);
      throw error;
    }
  }
}
