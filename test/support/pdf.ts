// Reads the text back out of a PDF pdfkit wrote (no PDF library needed): inflates each content stream
// and joins the strings of its text operators. Enough to assert what a page says, not a general parser.
import { inflateSync } from 'node:zlib';

const decodeHex = (hex: string): string => Buffer.from(hex.length % 2 ? `${hex}0` : hex, 'hex').toString('latin1');

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
