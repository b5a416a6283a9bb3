// Composition of e-mail: through SMTP when STRONGROOM_SMTP_URL is set, otherwise into the server log
// (docs/email.md). Part of the composition root (main.ts builds it once per process).
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Clock } from '../domain/ports.js';
import type { Store } from '../domain/repositories.js';
import { LogMailer } from '../integrations/log.mailer.js';
import { SmtpMailer } from '../integrations/smtp.mailer.js';
import type { AccessService } from '../services/access.service.js';
import { MailService } from '../services/mail.service.js';
import { NoticeWindows } from '../services/notice-windows.js';
import type { MasterKey } from '../storage/keys.js';
import { invitationLinkKey } from './identity.js';

/** The mail service over the mailer the configuration picks, and how to close that mailer at shutdown. */
export function composeMail(o: { config: Config; store: Store; clock: Clock; logger: Logger; access: AccessService; master: MasterKey }): { mail: MailService; close: () => void } {
  const { config, store, clock, logger, access, master } = o;
  const mailer = config.smtpUrl ? new SmtpMailer({ url: config.smtpUrl, from: config.mailFrom! }) : new LogMailer(logger);
  const mail = new MailService({ store, clock, logger, mailer, access, serviceName: config.serviceName, publicUrl: config.publicUrl ?? null, invitationKey: invitationLinkKey(master),
    notices: new NoticeWindows({ store, limits: { singly: config.accountNoticesSingly, windowMinutes: config.accountNoticeWindowMinutes } }),
  });
  return { mail, close: () => { if (mailer instanceof SmtpMailer) mailer.close(); } };
}
