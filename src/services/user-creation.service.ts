// Adding a person to an organisation: their account, and how they first sign in (a password given, an
// invitation e-mailed, a generated password shown once, or none when their organisation's identity provider
// signs them in); and the roles and teams a person may be given, for this and for later changes.
import { randomBytes, randomUUID } from 'node:crypto';
import { conflict, invalid } from '../domain/errors.js';
import { checkPasswordStrength } from '../domain/passwords.js';
import type { Clock, PasswordHasher } from '../domain/ports.js';
import type { Actor, Classification, Role, User } from '../domain/types.js';
import { CLASSIFICATIONS, ROLES } from '../domain/types.js';
import type { Store } from '../domain/repositories.js';
import type { AccessService } from './access.service.js';
import { changeDecidedWithin, organisationAction } from './decided-within.js';
import type { IdentityService } from './identity.service.js';
import { refusedIfTaken } from './already-taken.js';
import { addressTaken, outsideOwnDomains } from './own-email-domains.js';
import { auditEvent } from './audit-events.js';
import { personStateIds, signInSecretIds } from './person-state.js';
import { auditedIfBusy } from './sign-in-audit.js';
import type { MailService } from './mail.service.js';
import type { OrganisationsService } from './organisations.service.js';
import { isEmailAddress } from '../domain/identity/email-address.js';

export interface NewUserInput {
  organisationSlug: string;
  email: string;
  name: string;
  roles: string[];
  teams: string[];
  clearance: string;
  password?: string;
}

export class UserCreationService {
  constructor(private readonly o: {
    store: Store; clock: Clock; access: AccessService; serviceAreas: readonly string[]; passwords: PasswordHasher;
    /** Who the org admin is inside the transaction that adds the person (decided-within.ts). */
    identity: Pick<IdentityService, 'actorWithin'>;
    /** Finds the organisation a person is added to. */
    organisations: Pick<OrganisationsService, 'organisationBySlug'>;
    /** When it delivers (SMTP configured), a person added without a password is e-mailed an invitation link instead. */
    mail?: MailService;
  }) {}

  /**
   * Creates a user. Without a password given:
   * - when the organisation signs in through its identity provider (`signsInWith`), they get no Strongroom
   *   password at all: the invitation (with e-mail configured) points at the organisation's sign-in page;
   * - otherwise, with e-mail configured they are e-mailed an invitation link to set one (`invited`); without
   *   it a generated password is returned, to be shown once.
   */
  async addUser(actor: Actor, input: NewUserInput): Promise<{ user: User; generatedPassword: string | null; invited: boolean; signsInWith: string | null }> {
    const org = await this.o.organisations.organisationBySlug(input.organisationSlug);
    await this.o.access.requireOrganisation(actor, 'organisation.manage-users', org.id);
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
    // Refused as busy (password-check-gate.ts), nothing is written: audited against the organisation, without
    // the id the account would have had, which no account ever holds.
    const passwordHash = password === null ? null : await auditedIfBusy(this.o, { actor, action: 'user.create', user: { accountToBeMadeIn: org.id } }, () => this.o.passwords.hash(password));
    const invitedBy = actor.userId ? (await this.o.store.repos.users.byId(actor.userId))?.name ?? null : null;
    // Decided again on the admin as the transaction reads them: the hashing above can wait its turn, and an admin
    // switched off or no longer an org admin meanwhile adds nobody (their refusal is audited, nothing else written).
    const adding = organisationAction('organisation.manage-users', org.id, {}, 'user.create', 'resource');
    await refusedIfTaken(() => changeDecidedWithin(this.o, actor, [adding], async (repos, acting) => {
      await repos.users.insert({ ...user, passwordHash });
      const ids = { userId: user.id, ...(invited ? { invitation: 'e-mail' } : {}), ...(await personStateIds(repos, user.id)), ...signInSecretIds(user.id, passwordHash) };
      await repos.audit.insert([auditEvent(acting.actor, 'user.create', { organisationId: org.id, ids }, acting.decision, now)]);
      if (invited) {
        await this.o.mail!.queue(repos.jobs, now, org.id, [user.id], {
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
}

function generatePassword(): string {
  // 20 characters from a 56-character alphabet without look-alikes: ~116 bits.
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(20);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}
