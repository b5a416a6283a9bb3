// The paper copy of a certificate of destruction: a GOV.UK-styled PDF drawn with pdfkit. It restates the
// signed JSON for people and tells them how to check that JSON; the PDF itself proves nothing, so it
// carries the JSON's SHA-256 and the command that verifies it.
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { openCheckpoint } from '../domain/audit/signed-note.js';
import type { DestructionCertificate } from '../domain/records/certificate.js';
import type { CertificateRenderer } from '../domain/ports.js';

// GOV.UK Frontend colours; GDS Transport is not licensed for us, so Helvetica stands in (as on GOV.UK's own fallbacks).
const BLUE = '#1d70b8';
const BLACK = '#0b0c0c';
const GREY = '#505a5f';
const RULE = '#b1b4b6';
const MARGIN = 50;
const FONT = 'Helvetica';
const BOLD = 'Helvetica-Bold';
const MONO = 'Courier';

type Doc = PDFKit.PDFDocument;

// pdfkit (and its fonts and font parser) is loaded on the first certificate, not at start-up: a server
// draws one a disposal batch, and loading it with everything else held about 9 MB of the idle
// server for nothing (docs/performance.md, "Results, 1 December 2026"). Its CommonJS build, so
// loading stays synchronous.
const require = createRequire(import.meta.url);
let pdfkit: typeof import('pdfkit') | undefined;
const loadPdfkit = (): typeof import('pdfkit') => (pdfkit ??= require('pdfkit') as typeof import('pdfkit'));

// The standard PDF fonts carry only the Windows-1252 repertoire. Anything else (Welsh ŵ and ŷ, emoji)
// is drawn as its base letter or '?', never as a wrong glyph; format and bidi controls are dropped, so a
// name cannot reorder the line it is on. The JSON keeps every name hash exactly; the PDF is a summary.
const CP1252_EXTRAS = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');
const printable = (ch: string): boolean => {
  const code = ch.codePointAt(0)!;
  return (code >= 0x20 && code < 0x7f) || (code >= 0xa0 && code <= 0xff) || CP1252_EXTRAS.has(ch);
};
export function pdfSafe(text: string): string {
  let out = '';
  for (const ch of text.replace(/[\p{Cc}\p{Cf}]/gu, (c) => (c === '\n' ? c : ''))) {
    if (ch === '\n' || printable(ch)) out += ch;
    else {
      const base = ch.normalize('NFKD').replace(/\p{M}/gu, '');
      out += [...base].every(printable) && base !== '' ? base : '?';
    }
  }
  return out;
}

export interface PdfCertificateRendererOptions {
  /** Uncompressed content streams, so tests can read the text back. */
  compress?: boolean;
}

export class PdfCertificateRenderer implements CertificateRenderer {
  constructor(private readonly options: PdfCertificateRendererOptions = {}) {}

  pdf(cert: DestructionCertificate, facts: { jsonSha256: string; verifierKey: string }): Readable {
    const PDFDocument = loadPdfkit();
    const doc = new PDFDocument({
      size: 'A4', margin: MARGIN, compress: this.options.compress ?? true,
      info: { Title: `Certificate of destruction ${cert.id}`, Author: cert.organisation.name, Subject: `Disposal batch ${cert.batchId}`, Creator: 'Strongroom' },
    });
    // Built after the caller starts reading: pdfkit streams pages as they are finished.
    setImmediate(() => {
      try {
        draw(doc, cert, facts);
      } catch (err) {
        doc.destroy(err as Error);
        return;
      }
      doc.end();
    });
    return doc;
  }
}

const width = (doc: Doc): number => doc.page.width - 2 * MARGIN;

function ensureRoom(doc: Doc, height: number): void {
  if (doc.y + height > doc.page.height - MARGIN) doc.addPage();
}

function heading(doc: Doc, text: string): void {
  ensureRoom(doc, 60);
  doc.moveDown(0.8).font(BOLD).fontSize(15).fillColor(BLACK).text(pdfSafe(text), MARGIN, doc.y, { width: width(doc) }).moveDown(0.3);
}

function paragraph(doc: Doc, text: string, options: { font?: string; size?: number; color?: string } = {}): void {
  ensureRoom(doc, 30);
  doc.font(options.font ?? FONT).fontSize(options.size ?? 10.5).fillColor(options.color ?? BLACK).text(pdfSafe(text), MARGIN, doc.y, { width: width(doc) }).moveDown(0.3);
}

/** A GOV.UK summary list: key in bold on the left, value on the right, a grey rule under each row. */
function summaryList(doc: Doc, rows: [string, string][]): void {
  const keyWidth = 170;
  const valueWidth = width(doc) - keyWidth - 10;
  for (const [key, raw] of rows) {
    const value = pdfSafe(raw);
    doc.fontSize(10.5);
    const height = Math.max(doc.font(BOLD).heightOfString(key, { width: keyWidth }), doc.font(FONT).heightOfString(value, { width: valueWidth })) + 10;
    ensureRoom(doc, height);
    const top = doc.y + 4;
    doc.font(BOLD).fillColor(BLACK).text(key, MARGIN, top, { width: keyWidth });
    doc.font(FONT).text(value, MARGIN + keyWidth + 10, top, { width: valueWidth });
    const bottom = top + height - 4;
    doc.moveTo(MARGIN, bottom).lineTo(MARGIN + width(doc), bottom).lineWidth(0.5).strokeColor(RULE).stroke();
    doc.x = MARGIN;
    doc.y = bottom;
  }
  doc.moveDown(0.5);
}

/** A GOV.UK table: bold header row, a rule under every row, the header repeated on each new page. */
function table(doc: Doc, columns: { title: string; width: number; mono?: boolean }[], rows: string[][]): void {
  const total = columns.reduce((n, c) => n + c.width, 0);
  const scale = width(doc) / total;
  const cols = columns.map((c) => ({ ...c, width: c.width * scale }));
  const drawRow = (cells: string[], bold: boolean): void => {
    const fontOf = (i: number): [string, number] => (bold ? [BOLD, 9] : cols[i]!.mono ? [MONO, 8.5] : [FONT, 9]);
    const heights = cells.map((cell, i) => doc.font(fontOf(i)[0]).fontSize(fontOf(i)[1]).heightOfString(cell, { width: cols[i]!.width - 6 }));
    const height = Math.max(...heights) + 8;
    if (doc.y + height > doc.page.height - MARGIN) {
      doc.addPage();
      if (!bold) drawRow(cols.map((c) => c.title), true);
    }
    const top = doc.y + 4;
    let x = MARGIN;
    cells.forEach((cell, i) => {
      doc.font(fontOf(i)[0]).fontSize(fontOf(i)[1]).fillColor(BLACK).text(cell, x, top, { width: cols[i]!.width - 6 });
      x += cols[i]!.width;
    });
    const bottom = top + height - 4;
    doc.moveTo(MARGIN, bottom).lineTo(MARGIN + width(doc), bottom).lineWidth(bold ? 1 : 0.5).strokeColor(bold ? BLACK : RULE).stroke();
    doc.x = MARGIN;
    doc.y = bottom;
  };
  drawRow(cols.map((c) => c.title), true);
  for (const row of rows) drawRow(row.map(pdfSafe), false);
  doc.moveDown(0.5);
}

const day = (iso: string): string => iso.slice(0, 10);
const when = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function draw(doc: Doc, cert: DestructionCertificate, facts: { jsonSha256: string; verifierKey: string }): void {
  // The blue bar of a GOV.UK header, with the organisation in it.
  doc.rect(0, 0, doc.page.width, 62).fill(BLUE);
  doc.font(BOLD).fontSize(16).fillColor('#ffffff').text(pdfSafe(cert.organisation.name), MARGIN, 22, { width: width(doc) });
  doc.y = 90;
  doc.font(FONT).fontSize(12).fillColor(GREY).text('Records management', MARGIN, doc.y);
  doc.font(BOLD).fontSize(26).fillColor(BLACK).text('Certificate of destruction', MARGIN, doc.y + 2);
  doc.moveDown(0.6);

  const c = cert.counts;
  summaryList(doc, [
    ['Certificate', cert.id],
    ['Organisation', `${cert.organisation.name} (${cert.organisation.id})`],
    ['Disposal batch', cert.batchId],
    ['Documents destroyed', `${c.destroyed}${c.transferred > 0 ? ` (of which ${c.transferred} transferred to an archive first)` : ''}`],
    ['Proposed for disposal', String(c.proposed)],
    ['Retention extended', String(c.extended)],
    ['Kept by a legal hold at execution', String(c.heldAtExecution)],
    ['Excluded when proposed (held)', String(c.excluded)],
    ['Already gone before execution', String(c.gone)],
    ...(c.changedSinceTransfer ? [['Kept: changed after the transfer package was downloaded', String(c.changedSinceTransfer)] as [string, string]] : []),
    ...(c.notDueAtExecution ? [['Kept: not due when carried out (its retention changed after it was proposed)', String(c.notDueAtExecution)] as [string, string]] : []),
    ...(cert.early ? [['Destroyed before their retention ended (early destruction)', `${cert.early.documentIds.length}; reason SHA-256 ${cert.early.reasonSha256}`] as [string, string]] : []),
    ...(cert.early?.proposedBy ? [['Proposed for early destruction by', `${cert.early.proposedBy.name} (${cert.early.proposedBy.userId}) on ${when(cert.early.proposedBy.at)}`] as [string, string]] : []),
    ['Authorised by', `${cert.authorisedBy.name} (${cert.authorisedBy.userId}) on ${when(cert.authorisedBy.at)}`],
    ['Executed', when(cert.executedAt)],
    ['Issued', when(cert.issuedAt)],
  ]);

  heading(doc, 'Retention rules applied');
  table(doc, [{ title: 'Series', width: 55 }, { title: 'Title', width: 105 }, { title: 'Trigger', width: 95 }, { title: 'Years', width: 35 }, { title: 'Action', width: 50 }, { title: 'Authority', width: 105 }, { title: 'Revision', width: 50 }],
    cert.series.map((s) => [s.code, s.title, s.trigger, String(s.retainYears), s.action, s.authority, String(s.revision)]));
  const d = cert.dates;
  const span = (r: { from: string; to: string } | null): string => (r ? (day(r.from) === day(r.to) ? day(r.from) : `${day(r.from)} to ${day(r.to)}`) : 'none');
  summaryList(doc, [['Created', span(d.created)], ['Retention started (trigger)', span(d.trigger)], ['Due for disposal', span(d.due)]]);

  heading(doc, `Documents destroyed (${cert.documents.length})`);
  if (cert.documents.length === 0) paragraph(doc, 'No document was destroyed by this batch.');
  else {
    paragraph(doc, 'Names are not kept: each is identified by its id and the SHA-256 of its name (first 16 hex digits shown; the JSON has all 64).', { color: GREY, size: 9.5 });
    table(doc, [{ title: 'Document id', width: 210, mono: true }, { title: 'Name SHA-256 (prefix)', width: 105, mono: true }, { title: 'Series', width: 60 }, { title: 'Due', width: 65 }, { title: 'Versions', width: 55 }],
      cert.documents.map((doc2) => [doc2.documentId, doc2.nameSha256.slice(0, 16), doc2.seriesCode, doc2.dueAt, String(doc2.versionCount)]));
  }

  heading(doc, 'Legal hold check');
  paragraph(doc, `Every item was checked for legal holds when the batch was executed (${when(cert.holdCheck.checkedAt)}). A held item is never destroyed.`);
  const holdRows = [
    ...cert.holdCheck.heldAtExecution.map((h) => [h.documentId, 'held at execution', h.holds.map((x) => x.name).join('; ') || '(hold not named)']),
    ...cert.holdCheck.excludedWhenProposed.map((h) => [h.documentId, 'excluded when proposed', h.holds.map((x) => x.name).join('; ')]),
  ];
  if (holdRows.length === 0) paragraph(doc, 'No item of this batch was under a legal hold.');
  else table(doc, [{ title: 'Document id', width: 210, mono: true }, { title: 'When', width: 110 }, { title: 'Hold', width: 175 }], holdRows);

  heading(doc, 'Method');
  paragraph(doc, `${cert.method[0]!.toUpperCase()}${cert.method.slice(1)}.`);

  heading(doc, 'Proof in the audit log');
  const head = openCheckpoint(cert.proof.checkpoint, facts.verifierKey);
  paragraph(doc, `The audit events of this batch (${plural(cert.proof.events.length, 'event')}: each document's destruction and the batch's execution) are proven to be in the tamper-evident audit log "${head.origin}", against a checkpoint of ${head.treeSize} events signed with the log's key.`);

  heading(doc, 'How to check this certificate');
  paragraph(doc, 'This paper copy is a summary. The evidence is the certificate in JSON, which carries the signature and the proofs:');
  paragraph(doc, `1. Download it: GET /api/v1/disposal/batches/${cert.batchId}/certificate (or the "JSON" link on the certificates page).`);
  paragraph(doc, '2. Check it is the same file this paper describes: its SHA-256 must be');
  paragraph(doc, facts.jsonSha256, { font: MONO, size: 9.5 });
  paragraph(doc, '3. Verify it offline with the audit log\'s public key (from /.well-known/strongroom-audit-key):');
  paragraph(doc, 'strongroom audit check CERT.json --key PUB', { font: MONO, size: 9.5 });
  paragraph(doc, 'The public key this certificate was signed with:', { color: GREY, size: 9.5 });
  paragraph(doc, facts.verifierKey, { font: MONO, size: 8.5 });
}
