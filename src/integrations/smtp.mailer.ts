// The Mailer over SMTP (nodemailer), from STRONGROOM_SMTP_URL. Short timeouts: a server that does not
// answer fails the send-email job's attempt quickly, and the queue retries it later.
// nodemailer is loaded with the first message, not at start-up: a web node that never sends mail
// (the worker's send-email job does) keeps its few megabytes free.
import type { Transporter } from 'nodemailer';
import type { Mailer, OutgoingMail } from '../domain/ports.js';

export class SmtpMailer implements Mailer {
  readonly delivers = true;
  private transport: Promise<Transporter> | undefined;

  constructor(private readonly o: { url: string; from: string; timeoutMs?: number }) {}

  async send(mail: OutgoingMail): Promise<void> {
    const info = await (await this.#transport()).sendMail({ from: this.o.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, disableUrlAccess: true, disableFileAccess: true });
    // The server accepted the message but refused this recipient: a failure the queue retries, then dead-letters.
    if ((info.rejected ?? []).length > 0) throw new Error(`the SMTP server refused the recipient: ${String(info.response)}`);
  }

  close(): void {
    void this.transport?.then((t) => t.close(), () => undefined);
  }

  #transport(): Promise<Transporter> {
    const timeout = this.o.timeoutMs ?? 15_000;
    // One connection per message (no pool): a job is one message, and nothing stays open between jobs.
    this.transport ??= import('nodemailer').then((nodemailer) =>
      nodemailer.default.createTransport({ url: this.o.url, connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout * 4 }));
    return this.transport;
  }
}
