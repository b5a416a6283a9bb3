// The log mailer: with no SMTP server, a message's address, subject and text go to the server log.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LogMailer } from './log.mailer.js';

describe('LogMailer', () => {
  it('writes the message to the log at info, and says it was not sent', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString('utf8')); done(); } });
    const mailer = new LogMailer(pino({ level: 'info' }, sink));
    expect(mailer.delivers).toBe(false);
    await mailer.send({ to: { name: 'Ada', address: 'ada@example.gov.uk' }, subject: 'Hello', text: 'Dear Ada,\n\nHello.', html: '<p>Hello.</p>' });
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as { level: number; msg: string; mail: unknown };
    expect(entry.level).toBe(30);
    expect(entry.msg).toBe('e-mail not sent (no STRONGROOM_SMTP_URL): written to the log instead');
    expect(entry.mail).toEqual({ to: 'ada@example.gov.uk', subject: 'Hello', text: 'Dear Ada,\n\nHello.' });
  });
});
