// E-mails: EML through mailparser, Outlook MSG through @kenjiuno/msgreader. The headers people search
// by (subject, from, to) and the body become one section; attachments go back to the parent, which
// extracts each in a process of its own (so one bad attachment cannot take the message's text with it).
import msgreader from '@kenjiuno/msgreader';
import { simpleParser, type AddressObject } from 'mailparser';
import { markupText } from './markup.js';
import type { Sink } from './sink.js';

// A CommonJS module with an ES-style default: Node hands ESM importers module.exports, default inside.
const MsgReader = msgreader.default;

const addresses = (value: AddressObject | AddressObject[] | undefined): string =>
  value === undefined ? '' : (Array.isArray(value) ? value : [value]).map((a) => a.text).join(', ');

export async function readEml(input: Buffer, sink: Sink): Promise<void> {
  const mail = await simpleParser(input, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true });
  const body = mail.text ?? (typeof mail.html === 'string' ? markupText(mail.html) : '');
  const head = [mail.subject && `Subject: ${mail.subject}`, mail.from && `From: ${addresses(mail.from)}`, mail.to && `To: ${addresses(mail.to)}`, mail.cc && `Cc: ${addresses(mail.cc)}`].filter(Boolean);
  sink.text(null, [...head, '', body].join('\n'));
  for (const attachment of mail.attachments) {
    if (attachment.related) continue; // inline images of the HTML body
    sink.attachment(attachment.filename ?? 'attachment', attachment.contentType, attachment.content);
  }
}

export function readMsg(input: Buffer, sink: Sink): void {
  const reader = new MsgReader(input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength) as ArrayBuffer);
  const data = reader.getFileData();
  if (data.error) throw new Error(`not a readable Outlook message: ${data.error}`);
  const to = (data.recipients ?? []).map((r: { name?: string; email?: string }) => r.name ?? r.email ?? '').filter(Boolean).join(', ');
  const body = data.body ?? (data.bodyHtml ? markupText(data.bodyHtml) : '');
  const head = [data.subject && `Subject: ${data.subject}`, data.senderName && `From: ${data.senderName}${data.senderEmail ? ` <${data.senderEmail}>` : ''}`, to && `To: ${to}`].filter(Boolean);
  sink.text(null, [...head, '', body].join('\n'));
  for (const attachment of data.attachments ?? []) {
    if (attachment.innerMsgContent) continue; // an embedded message is read through its own fields below
    const file = reader.getAttachment(attachment);
    const name = file.fileName || attachment.fileName || 'attachment';
    sink.attachment(name, attachment.attachMimeTag ?? 'application/octet-stream', file.content);
  }
}
