// The Mailer when no SMTP server is configured: each message is written to the server log instead, so
// `make run` needs nothing new. People still see the same news as in-app notices.
import type { Logger } from 'pino';
import type { Mailer, OutgoingMail } from '../domain/ports.js';

export class LogMailer implements Mailer {
  readonly delivers = false;

  constructor(private readonly logger: Logger) {}

  async send(mail: OutgoingMail): Promise<void> {
    this.logger.info({ mail: { to: mail.to.address, subject: mail.subject, text: mail.text } }, 'e-mail not sent (no STRONGROOM_SMTP_URL): written to the log instead');
  }
}
