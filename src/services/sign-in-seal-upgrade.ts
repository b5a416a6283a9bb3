// Sealing what existed before sign-in seals (migration 202612150000_sign_in_seals; domain/identity/sign-in-seals.ts):
// a migration holds no key, so the open that applies it seals the existing rows in the migration's own
// transaction (compose/sign-in-seals.ts), once: every later open finds the migration applied and seals nothing, and a null
// seal is never accepted at sign-in, so nulling a seal later is no way back to an unsealed row.
//
// Only what `audit verify`'s rules vouch for is sealed (by events under their seals: those sequenced before event
// seals are sealed first, in the same transaction, audit-event-seal-upgrade.ts): a person's password hash and MFA state each as their
// latest recorded write left it (person-secrets-record.ts), a credential as its creation recorded it and with the scope
// that recorded (credential-record.ts), a SCIM token as its creation recorded it, an identity provider as its addition or an update
// recorded it, a link of a provider's subject to a person as its linking recorded it (identity-record.ts). Anything else, written into the database directly before the upgrade, stays
// unsealed and signs nobody in until an admin resets it (a new password by invitation, MFA reset, a new token, the provider removed and added again by an org admin).
import { recordedCredentials } from '../domain/audit/credential-record.js';
import { IDENTITY_RECORD_ACTIONS, recordedLinks, recordedProviders, recordedScimTokens } from '../domain/audit/identity-record.js';
import { PERSON_SECRET_ACTIONS, signInSecretsRecorded } from '../domain/audit/person-secrets-record.js';
import type { Repos } from '../domain/repositories.js';
import { auditEvent } from './audit-events.js';
import { systemActor } from './identity.service.js';

/** The event the upgrade records, once in a log's life: `audit verify` names a second. */
export const SIGN_IN_SEALS_ACTION = 'auth.sign-in-seals';

export interface SealingCounts {
  people: number;
  passwordsSealed: number;
  mfaSealed: number;
  credentialsSealed: number;
  /** Left unsealed: not what their latest recorded write left, so written into the database directly. */
  passwordsLeft: number;
  mfaLeft: number;
  credentialsLeft: number;
  scimTokensSealed: number;
  scimTokensLeft: number;
  providersSealed: number;
  providersLeft: number;
  linksSealed: number;
  linksLeft: number;
}

/** Seals, in the caller's transaction (the migration's), what verify vouches for, and records one event with the counts (none when there was nothing). */
export async function sealSignInSecretsFound(repos: Repos, now: Date): Promise<SealingCounts> {
  const people = signInSecretsRecorded(await repos.users.unsealedSignInSecrets(), await repos.audit.allowedEvents(PERSON_SECRET_ACTIONS, { logOrder: true }));
  const usable = await repos.users.usableCredentials();
  const credentials = recordedCredentials(usable, await repos.audit.credentialCreations());
  for (const [person, recorded] of people) {
    if (recorded.password || recorded.mfa) await repos.users.sealAsFound(person.id, recorded);
  }
  for (const credential of credentials) await repos.users.sealCredentialAsFound(credential.id, credential.scope);
  const scimTokens = await repos.scim.usableTokens();
  const identityEvents = await repos.audit.allowedEvents(IDENTITY_RECORD_ACTIONS);
  const recordedTokens = recordedScimTokens(scimTokens, identityEvents);
  for (const token of recordedTokens) await repos.scim.sealTokenAsFound(token.id);
  const providers = await repos.federation.everyProvider();
  const vouchedProviders = recordedProviders(providers, identityEvents);
  for (const { provider } of vouchedProviders) await repos.federation.sealProviderAsFound(provider.id);
  const links = await repos.federation.everyIdentity();
  const vouchedLinks = recordedLinks(links, identityEvents);
  for (const link of vouchedLinks) await repos.federation.sealIdentityAsFound(link.providerId, link.subject);
  const counts: SealingCounts = {
    people: people.length,
    passwordsSealed: people.filter(([, r]) => r.password).length,
    mfaSealed: people.filter(([, r]) => r.mfa).length,
    credentialsSealed: credentials.length,
    passwordsLeft: people.filter(([, r]) => !r.password).length,
    mfaLeft: people.filter(([, r]) => !r.mfa).length,
    credentialsLeft: usable.length - credentials.length,
    scimTokensSealed: recordedTokens.length,
    scimTokensLeft: scimTokens.length - recordedTokens.length,
    providersSealed: vouchedProviders.length,
    providersLeft: providers.length - vouchedProviders.length,
    linksSealed: vouchedLinks.length,
    linksLeft: links.length - vouchedLinks.length,
  };
  // A database created new has nothing to seal, and records nothing: its first sealing event names an upgrade.
  if (people.length === 0 && usable.length === 0 && scimTokens.length === 0 && providers.length === 0 && links.length === 0) return counts;
  const ids = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, String(v)]));
  await repos.audit.insert([auditEvent(systemActor(), SIGN_IN_SEALS_ACTION, { organisationId: null, ids }, { allow: true, reason: 'upgrade', via: null }, now)]);
  return counts;
}
