// Composition of identity: organisations, accounts, credentials and web sessions, sign-in through each organisation's identity
// providers (OIDC, SAML) and SCIM provisioning by its directory (docs/identity.md). Part of the
// composition root (main.ts builds it once per process).
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { availableParallelism } from 'node:os';
import type { SamlProtocol } from '../domain/identity/saml.js';
import type { Clock, PasswordHasher } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import { Argon2PasswordHasher } from '../integrations/argon2.password-hasher.js';
import { OpenIdClient } from '../integrations/oidc.client.js';
import { NodeSamlProtocol } from '../integrations/saml/node-saml.protocol.js';
import type { AccessService } from '../services/access.service.js';
import type { AppServices } from '../services/app-services.js';
import { FederatedSignInService } from '../services/federated-sign-in.service.js';
import { IdentityProvidersService } from '../services/identity-providers.service.js';
import { IdentityService } from '../services/identity.service.js';
import { CredentialsService } from '../services/credentials.service.js';
import { OrganisationsService } from '../services/organisations.service.js';
import { PersonNamesService } from '../services/person-names.service.js';
import { UserCreationService } from '../services/user-creation.service.js';
import { InvitationsService } from '../services/invitations.service.js';
import type { MailService } from '../services/mail.service.js';
import { OidcSignInService } from '../services/oidc-sign-in.service.js';
import { SamlSignInService } from '../services/saml-sign-in.service.js';
import { ScimGroupsService } from '../services/scim-groups.service.js';
import { ScimTokensService } from '../services/scim-tokens.service.js';
import { ScimUsersService } from '../services/scim-users.service.js';
import { UsersAdminService } from '../services/users-admin.service.js';
import { DummyPasswordHash } from '../services/dummy-password-hash.js';
import { PasswordCheckGate, hasherAround, passwordCheckLimits } from '../services/password-check-gate.js';
import { PasswordChangeService } from '../services/password-change.service.js';
import { PasswordSignInService } from '../services/password-sign-in.service.js';
import { SecondFactorService } from '../services/second-factor.service.js';
import { SignInAttempts } from '../services/sign-in-attempts.js';
import { WebSessionIds } from '../services/web-session-ids.js';
import { WebSessionsService, type WebSessionsOptions } from '../services/web-sessions.service.js';
import type { PersonStanding } from '../services/person-standing.js';
import type { SealAlarm } from '../services/sign-in-seal-alarm.js';
import type { MasterKey } from '../storage/keys.js';
import { DerivedSecretSealer } from '../storage/secret-sealer.js';

/** The seal alarm: a seal that does not match means the database was written directly, logged at error level for the operator. */
export const sealAlarmFor = (logger: Pick<Logger, 'error'>): SealAlarm => ({ message, ids }) => logger.error(ids, message);

export type IdentityServices = Pick<AppServices,
  'identity' | 'organisations' | 'userCreation' | 'credentials' | 'invitations' | 'sessions' | 'passwordSignIn' | 'secondFactor' | 'passwordChange' | 'federatedSignIn' | 'identityProviders' | 'samlSignIn' | 'oidcSignIn' | 'people' | 'scim'>;

/** What gives a new organisation its file plan (RetentionService.seedFilePlan, built after identity). */
export type FilePlanSeeder = NonNullable<ConstructorParameters<typeof OrganisationsService>[0]['filePlan']>;

export function composeIdentity(o: {
  config: Config; store: Store; clock: Clock; access: AccessService; standing: PersonStanding; serviceAreas: readonly string[];
  master: MasterKey; mail: MailService; filePlan: FilePlanSeeder; logger: Logger;
  /** Test seam: wraps the argon2 hasher beneath the gate (OpenVaultOptions.passwordHasherBeneathGate). */
  beneathGate?: (argon2: PasswordHasher) => PasswordHasher;
  /** Test seam: the SAML protocol (OpenVaultOptions.samlProtocol); ended with the vault like the one made here. */
  samlProtocol?: SamlProtocol;
}): IdentityServices & { personNames: PersonNamesService; close: () => Promise<void> } {
  const { config, store, clock, access, standing, serviceAreas, master, mail, filePlan, logger } = o;
  // Every command that sets a password says so under the weak setting (serve says it at start, too).
  const argon2 = new Argon2PasswordHasher(config.passwordHashing, () => logger.warn(
    'STRONGROOM_PASSWORD_HASHING=test-only-weak: this password is hashed cheaply and is easy to guess if the database leaks; the setting is for test suites only',
  ));
  // Every hash and check of this process passes one gate, so a flood of sign-ins can neither fill libuv's
  // pool (every file-system call waits for it) nor memory (64 MiB a hash): services/password-check-gate.ts.
  const passwords = hasherAround(o.beneathGate?.(argon2) ?? argon2, new PasswordCheckGate(passwordCheckLimits(availableParallelism())).inTurn);
  // Invitation links and web sessions are stored keyed (services/keyed-digest.ts), so neither can be minted in the database.
  // A seal that does not match (storage/sign-in-seals.ts, which the Store writes and reads them with) means the
  // database was written directly: refused like bad credentials, audited, and logged here for the operator.
  const alarm = sealAlarmFor(logger);
  const invitations = new InvitationsService({ store, clock, passwords, invitationKey: invitationLinkKey(master), alarm });
  const identity = new IdentityService({ store, clock, passwords, alarm, standing });
  const organisations = new OrganisationsService({ store, clock, access, filePlan });
  const userCreation = new UserCreationService({ store, clock, access, identity, serviceAreas, passwords, organisations, mail });
  const credentials = new CredentialsService({ store, clock, access, identity });
  // How people named in a record are shown to a viewer: for the services that show records, not an interface's own.
  const personNames = new PersonNamesService({ store, access });
  // An authenticator being set up is derived from the session (second-factor.service.ts), under a key of its own.
  const { sessions, passwordSignIn, secondFactor, passwordChange } = composeWebSignIn({
    store, clock, identity, passwords, enrolmentKey: master.derive('mfa enrolment v1'), sessionKey: master.derive('web sessions v1'), issuer: 'Strongroom', alarm,
  });
  const federatedSignIn = new FederatedSignInService({ store, clock, access, webSessions: sessions, alarm });
  // Client secrets sealed at rest, and the browser's sign-in cookies, each under a key of its own.
  const providerSecrets = new DerivedSecretSealer(master, 'identity provider secrets v1');
  const identityProviders = new IdentityProvidersService({ store, clock, access, identity, sealer: providerSecrets, serviceAreas, alarm });
  // SAML answers are checked on a thread of their own, started with the first and ended with the vault (integrations/saml/saml-verify-worker.ts).
  const samlProtocol = o.samlProtocol ?? new NodeSamlProtocol();
  const samlSignIn = new SamlSignInService({ store, clock, access, federatedSignIn, protocol: samlProtocol, publicUrl: config.publicUrl, previews: identityProviders });
  const oidcSignIn = new OidcSignInService({
    store, clock, client: new OpenIdClient(), federatedSignIn, providers: identityProviders,
    secrets: providerSecrets, cookies: new DerivedSecretSealer(master, 'oidc browser cookies v1'),
  });
  const people = new UsersAdminService({ store, clock, access, identity, userCreation, invitationKey: invitationLinkKey(master), mail });
  // SCIM provisioning by each organisation's directory (Entra ID): its tokens, Users and Groups.
  const scim = { tokens: new ScimTokensService({ store, clock, access, identity, alarm }), users: new ScimUsersService({ store, clock, access }), groups: new ScimGroupsService({ store, clock, access, identity }) };
  return {
    identity, organisations, userCreation, credentials, personNames, invitations, sessions, passwordSignIn, secondFactor, passwordChange, federatedSignIn, identityProviders, samlSignIn, oidcSignIn, people, scim,
    close: () => samlProtocol.close(),
  };
}

/**
 * Web sign-in, one service per job (sessions, password sign-in, second factor, password change), over the parts
 * they share, made once: the session ids, the attempts counted against the throttles, the dummy hash. One call
 * is one web process's set (tests build two to stand for two processes over one database).
 */
export function composeWebSignIn(options: WebSessionsOptions): Pick<AppServices, 'sessions' | 'passwordSignIn' | 'secondFactor' | 'passwordChange'> {
  const parts = { ...options, ids: new WebSessionIds(options), attempts: new SignInAttempts(options), dummyHash: new DummyPasswordHash(options) };
  return {
    sessions: new WebSessionsService(parts), passwordSignIn: new PasswordSignInService(parts),
    secondFactor: new SecondFactorService(parts), passwordChange: new PasswordChangeService(parts),
  };
}

/** The key invitation links are stored under: the mail service makes them, the invitations service takes them. */
export const invitationLinkKey = (master: MasterKey): Buffer => master.derive('invitation links v1');
