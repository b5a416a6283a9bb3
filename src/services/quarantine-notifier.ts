// Who is told when a version is quarantined (malware found) or held for a security admin's review (the file
// policy let it in only quarantined): the uploader and the organisation's security admins, in the app and by
// e-mail, with the quarantine audited, all in the caller's transaction.
import { randomUUID } from 'node:crypto';
import type { Decision } from '../domain/access/policy.js';
import type { Clock } from '../domain/ports.js';
import type { Repos } from '../domain/repositories.js';
import type { Actor, Document, Version } from '../domain/types.js';
import { auditEvent } from './audit-events.js';
import type { MailService } from './mail.service.js';

export class QuarantineNotifier {
  /** `mail`: the same news by e-mail (queued in the same transaction), essential for the uploader. */
  constructor(private readonly clock: Clock, private readonly mail?: MailService) {}

  /**
   * Tells the uploader and the organisation's security admins, and records the quarantine. `decision`
   * is the one that let `actor` write the version (a partner's upload names its arrangement); the
   * verdict goes into the event's ids.
   */
  async quarantined(repos: Repos, actor: Actor, decision: Decision, document: Document, version: Version, signature: string): Promise<void> {
    const now = this.clock.now();
    await this.tell(repos, document, version, `Version ${version.number} of a document was quarantined: malware detected (${signature}).`, now, { verdict: 'infected', detail: `Malware detected (${signature})` });
    await repos.audit.insert([auditEvent(actor, 'scan.quarantine', { organisationId: document.organisationId, ids: { documentId: document.id, versionId: version.id, verdict: 'infected', signature } }, decision, now)]);
  }

  /** The file policy let a file in only quarantined (e.g. password-protected): the security admins decide. */
  async heldForReview(repos: Repos, actor: Actor, decision: Decision, document: Document, version: Version, review: { code: string; reason: string }): Promise<void> {
    const now = this.clock.now();
    await this.tell(repos, document, version, `Version ${version.number} of a document is held in quarantine for review: ${review.reason}`, now, { verdict: 'held', detail: review.reason });
    await repos.audit.insert([auditEvent(actor, 'scan.quarantine', { organisationId: document.organisationId, ids: { documentId: document.id, versionId: version.id, verdict: 'held', filePolicy: review.code } }, decision, now)]);
  }

  /** One notification each for the uploader and the organisation's security admins, and the same by e-mail. */
  private async tell(repos: Repos, document: Document, version: Version, message: string, now: Date, verdict: { verdict: 'infected' | 'held'; detail: string }): Promise<void> {
    const admins = (await repos.users.listByOrganisation(document.organisationId)).filter((u) => u.roles.includes('security_admin') && !u.disabled);
    const uploader = version.authorId ? [version.authorId] : [];
    const recipients = new Set([...uploader, ...admins.map((u) => u.id)]);
    for (const userId of recipients) {
      await repos.notifications.insert({
        id: randomUUID(), userId, organisationId: document.organisationId, kind: 'quarantine', documentId: document.id, versionId: version.id,
        message, createdAt: now.toISOString(), readAt: null,
      });
    }
    if (!this.mail) return;
    const about = { documentId: document.id, versionNumber: version.number, ...verdict };
    // The uploader named the file, so their notice names it (if they may still read it when it is sent: a rescan
    // can come years later); a security admin who uploaded it gets the uploader's. Both are queued without the
    // name: MailService decides, when sending, what each recipient may be told.
    await this.mail.queue(repos.jobs, now, document.organisationId, uploader, { kind: 'quarantine-uploader', ...about });
    await this.mail.queue(repos.jobs, now, document.organisationId, admins.map((u) => u.id).filter((id) => !uploader.includes(id)), { kind: 'quarantine-admin', ...about, size: version.size, at: version.createdAt });
  }
}
