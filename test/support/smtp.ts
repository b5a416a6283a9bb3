// A real SMTP server on 127.0.0.1 (smtp-server from npm) that keeps every message it receives, parsed by
// mailparser, for the e-mail tests. It can be stopped and started again on the same port (an outage).
import { createServer, type AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  envelopeTo: string[];
  parsed: ParsedMail;
}

export class TestSmtp {
  readonly received: ReceivedMail[] = [];
  private server: SMTPServer | null = null;

  private constructor(readonly port: number) {}

  /** A free port on 127.0.0.1 with nothing listening yet (start() to open it). */
  static async reserve(): Promise<TestSmtp> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return new TestSmtp(port);
  }

  static async started(): Promise<TestSmtp> {
    const smtp = await TestSmtp.reserve();
    await smtp.start();
    return smtp;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const received = this.received;
    // Plain SMTP without STARTTLS or authentication, as a relay inside the council's network might be.
    this.server = new SMTPServer({
      authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'], logger: false,
      onData(stream, session, callback) {
        simpleParser(stream).then((parsed) => {
          received.push({ envelopeTo: session.envelope.rcptTo.map((r) => r.address), parsed });
          callback();
        }, (err: Error) => callback(err));
      },
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Messages addressed to `address` so far. */
  to(address: string): ParsedMail[] {
    return this.received.filter((m) => m.envelopeTo.includes(address)).map((m) => m.parsed);
  }
}

/** The one address a parsed message's To names. */
export function toAddress(mail: ParsedMail): string {
  const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
  return to?.value[0]?.address ?? '';
}
