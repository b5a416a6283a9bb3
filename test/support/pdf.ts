// Reads the text back out of a PDF pdfkit wrote (no PDF library needed): inflates each content stream
// and joins the strings of its text operators. Enough to assert what a page says, not a general parser.
import { inflateSync } from 'node:zlib';

// The standard fonts' text is WinAnsi (Windows-1252): an em dash is 0x97, not U+0097.
const CP1252_80_9F = '\u20ac\ufffd\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\ufffd\u017d\ufffd\ufffd\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\ufffd\u017e\u0178';
const decodeHex = (hex: string): string => [...Buffer.from(hex.length % 2 ? `${hex}0` : hex, 'hex')]
  .map((b) => (b >= 0x80 && b <= 0x9f ? CP1252_80_9F[b - 0x80]! : String.fromCharCode(b))).join('');

/** The text of every content stream, one line per text operator. */
export function pdfText(pdf: Buffer): string {
  const raw = pdf.toString('latin1');
  const out: string[] = [];
  const streams = /stream\r?\n/g;
  for (let m = streams.exec(raw); m; m = streams.exec(raw)) {
    const start = m.index + m[0].length;
    const end = raw.indexOf('endstream', start);
    if (end < 0) break;
    const bytes = pdf.subarray(start, end);
    let content: string;
    try {
      content = inflateSync(bytes).toString('latin1');
    } catch {
      content = bytes.toString('latin1');
    }
    // pdfkit writes text as [<hex> kerning <hex> …] TJ; literal (…) Tj strings are read too.
    for (const op of content.matchAll(/\[((?:<[0-9a-fA-F]*>|\([^)]*\)|[-\d.\s])*)\]\s*TJ|(<[0-9a-fA-F]*>|\([^)]*\))\s*Tj/g)) {
      const parts = op[1] ?? op[2] ?? '';
      out.push([...parts.matchAll(/<([0-9a-fA-F]*)>|\(([^)]*)\)/g)].map((p) => (p[1] !== undefined ? decodeHex(p[1]) : p[2]!)).join(''));
    }
    streams.lastIndex = end + 'endstream'.length;
  }
  return out.join('\n');
}
