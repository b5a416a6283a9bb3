// E-mail, the one place it is decided: who is queued a message (in the transaction of the change it
// tells of; security notices are queued by account-notices.ts), whether it is sent (essential, or the
// person has not opted out), rendering, and the per-person preference. The send-email job calls
// deliver(); SMTP down never reaches a request. Security notices past the first few of a burst are held and
// summarised (notice-windows.ts).
import type { Logger } from 'pino';
import type { JobQueue } from '../domain/jobs/define-job.js';
import { sendEmailJob, type AccountNoticeSummaryPayload } from '../domain/jobs/kinds.js';
import type { JobCompletion } from '../domain/jobs/repositories.js';
import { isRequestOpen } from '../domain/records/subject-access.js';
import { INVITATION_DAYS, RECIPIENT_ROLE, isEssential, type MailMessage, type SendEmailPayload } from '../domain/mail/message.js';
import type { MailPreferences } from '../domain/mail/repositories.js';
import { renderAccountChangeSummary, renderMail } from '../domain/mail/render.js';
import type { Clock, Mailer } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import { notFound } from '../domain/errors.js';
import { signInLinkId } from '../domain/audit/sign-in-link-record.js';
import type { Actor, User } from '../domain/types.js';
import { actorFor, systemActor, unauthenticated } from './identity.service.js';
import { collectionResource, documentResource, type AccessService } from './access.service.js';
import { arrangementResource } from './arrangements.service.js';
import { auditEvent } from './audit-events.js';
import { newPersonBoundToken, storedPersonBoundToken } from './person-bound-token.js';
import { personBeforeIds } from './person-state.js';
import { passwordStanding, refuseUnsealed, signsInThroughProvider } from './invitations.service.js';
import type { NoticeJob, NoticeWindows } from './notice-windows.js';

/** `held`: a security notice kept for its window's summary (notice-windows.ts). */
export type DeliveryOutcome = 'sent' | 'no-recipient' | 'opted-out' | 'not-needed' | 'held';

export class MailService {
  constructor(private readonly o: {
    store: Store; clock: Clock; logger: Logger; mailer: Mailer;
    /** Asked, when a message is sent, what its recipient may be told (a quarantined file's name). */
    access: AccessService;
    /** STRONGROOM_SERVICE_NAME. */
    serviceName: string;
    /** STRONGROOM_PUBLIC_URL (required with SMTP); links fall back to a relative path in the log. */
    publicUrl: string | null;
    /** The key invitation links are made and stored under (person-bound-token.ts), the invitations service's. */
    invitationKey: Buffer;
    /** How many security notices go one by one (STRONGROOM_ACCOUNT_NOTICES_SINGLY and _WINDOW_MINUTES). */
    notices: NoticeWindows;
  }) {}

  /** Whether e-mail leaves the building (SMTP configured); without it invitations keep the one-time password. */
  get delivers(): boolean {
    return this.o.mailer.delivers;
  }

  /**
   * Queues `message` to each person, with the caller's job queue (its transaction): a rolled-back
   * change sends nothing, and a request never waits on the SMTP server. `organisationId`: whose work
   * the mail is (its jobs take turns with other organisations' in the mail lane).
   */
  async queue(jobs: JobQueue, now: Date, organisationId: string, userIds: Iterable<string>, message: MailMessage): Promise<void> {
    for (const userId of new Set(userIds)) await jobs.enqueue(sendEmailJob, { userId, message }, { now, organisationId });
  }

  /**
   * The send-email job: renders and sends one message, unless its recipient is gone or disabled, has
   * opted out of non-essential mail since it was queued, or (an invitation, a password reset) has already set a password.
   * Each goes to the person's address as read now, except a security notice (`account-change`), which goes to
   * the address it was queued with.
   * A security notice past the first few of its person's window is held for the window's summary instead
   * (`job`: the send-email job, completed with the hold). Rejects when the mailer does, so the queue retries.
   */
  async deliver(payload: SendEmailPayload, job: NoticeJob): Promise<DeliveryOutcome> {
    const { message } = payload;
    const user = await this.o.store.repos.users.byId(payload.userId);
    // A security notice reaches a person switched off since (it holds no link or secret): otherwise switching someone
    // off and on again before the worker ran would keep them from hearing of an address or MFA changed meanwhile.
    if (!user || (user.disabled && message.kind !== 'account-change') || !(await this.stillFor(user, message))) return this.skipped('no-recipient', payload);
    if (!isEssential(message.kind) && (await this.o.store.repos.mail.preferences(user.id)).nonEssentialOptOut) return this.skipped('opted-out', payload);
    let invitationLink: string | undefined;
    // A security notice goes to the address the person had when the change was made (read in its transaction:
    // account-notices.ts), not to whatever it is now: the notice of a takeover must reach the owner's mailbox.
    let address = message.kind === 'account-change' ? message.address : user.email;
    if (!address) return this.skipped('no-recipient', payload);
    // A password reset's link is an invitation link (it sets a password where there is none): made the same way, on the same checks.
    if ((message.kind === 'invitation' && message.signInWith === null) || message.kind === 'password-reset') {
      // Queued while SMTP was configured, sent after a restart without it: a sign-in link never goes to a log.
      if (!this.o.mailer.delivers) return this.skipped('not-needed', payload);
      // Made now, not when queued: the token is in the mail and nowhere else (its hash is stored). A retry
      // makes a new one and the earlier link stops working, so only the newest mail's link works.
      // Nor to someone with a password, nor over a null password not sealed (invitations.service.ts `passwordStanding`).
      const standing = await passwordStanding(this.o.store.repos.users, user.id);
      if (standing === 'unsealed') {
        await refuseUnsealed(this.o.store, this.o.clock, ({ message, ids }) => this.o.logger.error(ids, message), systemActor('job'), 'mail.invitation', user);
      }
      if (standing !== 'none') return this.skipped('not-needed', payload);
      // Nor to someone whose organisation signs in through its identity provider (who never has a Strongroom
      // password: UserCreationService.addUser), read now: a job is a row anyone who can write the database can
      // write, and one queued for a provider-only org admin, mailed while their address was rewritten, set
      // their password.
      if (await signsInThroughProvider(this.o.store, user)) return this.skipped('not-needed', payload);
      const token = newPersonBoundToken(this.o.invitationKey, user.id);
      address = await this.signInLinkMade(user, message.kind, storedPersonBoundToken(this.o.invitationKey, token));
      invitationLink = `${this.o.publicUrl ?? ''}/invitation/${token}`;
    }
    const told = message.kind === 'quarantine-admin' ? await this.quarantinedFileFor(user, message)
      : message.kind === 'quarantine-uploader' ? await this.quarantinedUploadFor(user, message)
        : message.kind === 'arrangement-proposal' ? await this.proposedTerms(message) : message;
    if (!told) return this.skipped('no-recipient', payload);
    if (told.kind === 'account-change' && await this.o.notices.holds(user.id, told, job, this.o.clock.now())) return this.skipped('held', payload);
    const rendered = renderMail(told, {
      serviceName: this.o.serviceName, publicUrl: this.o.publicUrl ?? '', recipientName: user.name,
      ...(invitationLink ? { invitationLink } : {}),
    });
    // A sent mail cannot be called back: the invitation it carries (and anything else it reports) is on disk first.
    await this.o.store.durable();
    await this.o.mailer.send({ to: { name: user.name, address }, ...rendered });
    this.o.logger.info({ userId: user.id, kind: message.kind }, 'e-mail sent');
    return 'sent';
  }

  /**
   * Stores a link that sets the person's password (only its keyed hash: `tokenHash`; an earlier link of theirs
   * stops working) and records, in the same transaction, `mail.sign-in-link` with the person's state as read
   * then, their row locked (`before`); returns the address read with it, the one the mail goes to. The row
   * rewritten only while this runs (an address pointed at a mailbox of a database administrator's) and put
   * back after leaves no row changed, but this event's `before` other than what their latest recorded change
   * left: `audit verify` names it (domain/audit/person-record.ts, PERSON_READ_ACTIONS). The event names the link
   * too (its id, never its token), so the link's use can be told from that of an old link's row put back
   * (domain/audit/sign-in-link-record.ts).
   */
  private async signInLinkMade(user: User, kind: 'invitation' | 'password-reset', tokenHash: string): Promise<string> {
    const now = this.o.clock.now();
    return this.o.store.transaction(async (repos) => {
      const before = await personBeforeIds(repos, user.id);
      const person = await repos.users.byId(user.id);
      if (!person) throw notFound('user');
      await repos.mail.replaceInvitation({ tokenHash, userId: user.id, createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + INVITATION_DAYS * 86_400_000).toISOString() });
      await repos.audit.insert([auditEvent(systemActor('job'), 'mail.sign-in-link', { organisationId: person.organisationId, ids: { userId: user.id, link: signInLinkId(tokenHash), ...before } }, { allow: true, reason: kind, via: null }, now)]);
      return person.email;
    });
  }

  /**
   * Whether the notice is still for this person when it is sent: they hold the role it is for, a subject
   * access request is one they may still answer, and an arrangement proposal is one they may still read (asked now: it may have been ended, or their
   * organisation taken off it, since it was queued). Otherwise it would tell its purpose to the wrong people.
   */
  private async stillFor(user: User, message: MailMessage): Promise<boolean> {
    const role = RECIPIENT_ROLE[message.kind];
    if (role && !user.roles.includes(role)) return false;
    const actor = actorFor(user, { channel: 'job', clientAddress: null, requestId: null });
    if (message.kind === 'subject-access-partner') {
      // A request a DPO may no longer answer (the arrangement suspended or ended, the request closed) is not
      // theirs to be told of, as its page no longer shows it them.
      const request = await this.o.store.repos.subjectAccess.request(message.requestId);
      if (!request || !isRequestOpen(request) || request.organisationId === user.organisationId) return false;
      const [answers] = await this.o.access.can(actor, [{
        action: 'subject-access.respond', resource: { kind: 'subject-access', organisationId: request.organisationId, partOrganisationId: user.organisationId },
      }]);
      return answers === true;
    }
    if (message.kind !== 'arrangement-proposal') return true;
    const arrangement = await this.o.store.repos.arrangements.byId(message.arrangementId);
    if (!arrangement || arrangement.status !== 'draft') return false;
    const [reads] = await this.o.access.can(actor, [{ action: 'arrangement.read', resource: arrangementResource(arrangement) }]);
    return reads === true;
  }

  /**
   * What a security admin is told of a quarantined file, decided now for them (their clearance now, the
   * file's classification now) by the rule their quarantine page asks: its name and folder, or only its
   * classification and service area (docs/malware.md). Whatever the queued message carried is not trusted.
   */
  private async quarantinedFileFor(user: User, message: Extract<MailMessage, { kind: 'quarantine-admin' }>): Promise<MailMessage> {
    const { file: _queued, ...rest } = message;
    const repos = this.o.store.repos;
    const document = await repos.documents.byId(message.documentId);
    if (!document) return rest;
    const collection = await repos.collections.byId(document.collectionId);
    const actor = actorFor(user, { channel: 'job', clientAddress: null, requestId: null });
    const [named, folder] = await this.o.access.can(actor, [
      { action: 'quarantine.identify', resource: documentResource(document) },
      { action: 'quarantine.identify', resource: collection ? collectionResource(collection) : documentResource(document) },
    ]);
    return {
      ...rest,
      file: {
        name: named ? document.name : null, collection: (named || folder) && collection ? collection.name : null,
        classification: document.classification, serviceArea: document.serviceArea,
      },
    };
  }

  /**
   * A proposal's terms as the arrangement holds them now: its purpose and service area (an amendment may have
   * changed them since the mail was queued), its revision, and the host's name now. Whatever the queued job
   * carried is not trusted, and is dropped (a job is a row anyone who can write the database can write).
   * Undefined when the arrangement is gone.
   */
  private async proposedTerms(message: Extract<MailMessage, { kind: 'arrangement-proposal' }>): Promise<MailMessage | undefined> {
    const arrangement = await this.o.store.repos.arrangements.byId(message.arrangementId);
    if (!arrangement) return undefined;
    const host = await this.o.store.repos.organisations.byId(arrangement.hostOrganisationId);
    return {
      kind: 'arrangement-proposal', arrangementId: arrangement.id, change: message.change,
      terms: { hostName: host?.name ?? 'The host organisation', serviceArea: arrangement.serviceArea, purpose: arrangement.purpose, revision: arrangement.revision },
    };
  }

  /**
   * The uploader's own notice names the file only if they may read the document now (document.read, asked
   * when sent): a rescan can quarantine an upload long after they lost the team, the clearance or the
   * arrangement that let them see it, and the document may have been renamed since. The queued name is not trusted.
   */
  private async quarantinedUploadFor(user: User, message: Extract<MailMessage, { kind: 'quarantine-uploader' }>): Promise<MailMessage> {
    const document = await this.o.store.repos.documents.byId(message.documentId);
    const actor = actorFor(user, { channel: 'job', clientAddress: null, requestId: null });
    const [reads] = document ? await this.o.access.can(actor, [{ action: 'document.read', resource: documentResource(document) }]) : [false];
    return { ...message, documentName: reads && document ? document.name : null };
  }

  /**
   * The send-account-notice-summary job: one mail to the address the held notices were for (each the person's when
   * its change was made, as a notice sent alone would go), listing every one. Sent to a person switched off since,
   * as the notices themselves are; nothing when the person is gone or the summary was sent already (a rerun).
   * Rejects when the mailer does, so the queue retries.
   */
  async deliverSummary(payload: AccountNoticeSummaryPayload, complete: JobCompletion): Promise<DeliveryOutcome> {
    const held = await this.o.notices.held(payload);
    const user = await this.o.store.repos.users.byId(payload.userId);
    if (!user || held.length === 0) {
      this.o.logger.info({ userId: payload.userId, kind: 'account-change-summary', notices: held.length }, 'e-mail not sent');
      return 'no-recipient';
    }
    const rendered = renderAccountChangeSummary(held.map((h) => h.message), { serviceName: this.o.serviceName, publicUrl: this.o.publicUrl ?? '', recipientName: user.name });
    await this.o.store.durable();
    await this.o.mailer.send({ to: { name: user.name, address: payload.address }, ...rendered });
    await this.o.notices.summarised(payload, held.map((h) => h.jobId), complete, this.o.clock.now());
    this.o.logger.info({ userId: user.id, kind: 'account-change-summary', notices: held.length }, 'e-mail sent');
    return 'sent';
  }

  /** Forgets the security notices of windows finished with the finished jobs (notice-windows.ts), from the daily prune. */
  async forgetFinishedNotices(): Promise<void> {
    await this.o.notices.forgetFinished(this.o.clock.now());
  }

  private skipped(outcome: Exclude<DeliveryOutcome, 'sent'>, payload: SendEmailPayload): DeliveryOutcome {
    this.o.logger.info({ userId: payload.userId, kind: payload.message.kind, outcome }, 'e-mail not sent');
    return outcome;
  }

  /** The signed-in person's own mail preferences. */
  async preferences(actor: Actor): Promise<MailPreferences> {
    if (!actor.userId) throw unauthenticated();
    return this.o.store.repos.mail.preferences(actor.userId);
  }

  /** Sets the person's own opt-out of non-essential mail (their own account: nobody else's to decide), audited. */
  async setPreferences(actor: Actor, preferences: { nonEssentialOptOut: boolean }): Promise<void> {
    const userId = actor.userId;
    if (!userId) throw unauthenticated();
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      await repos.mail.setPreferences(userId, preferences, now.toISOString());
      await repos.audit.insert([auditEvent(actor, 'mail.preferences', { organisationId: actor.organisationId, ids: { userId, nonEssential: preferences.nonEssentialOptOut ? 'off' : 'on' } }, { allow: true, reason: 'self', via: null }, now)]);
    });
  }
}
