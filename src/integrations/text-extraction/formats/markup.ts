// Text from HTML and XML (HTML e-mails and pages, ODT's content.xml): the text nodes only, with line
// breaks where blocks end, never the contents of script or style, entities decoded.
import { Parser } from 'htmlparser2';

const SKIPPED = new Set(['script', 'style', 'noscript', 'template', 'head', 'office:annotation']);
const BLOCKS = new Set(['p', 'div', 'br', 'li', 'tr', 'td', 'th', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'section', 'article', 'blockquote', 'pre', 'table', 'text:p', 'text:h', 'text:line-break', 'table:table-cell', 'text:list-item']);

export function markupText(markup: string, options: { xml?: boolean } = {}): string {
  const parts: string[] = [];
  let skipping = 0;
  const parser = new Parser(
    {
      onopentag(name) {
        if (SKIPPED.has(name)) skipping += 1;
        if (BLOCKS.has(name)) parts.push('\n');
        // ODF writes runs of spaces and tabs as elements.
        if (name === 'text:s') parts.push(' ');
        if (name === 'text:tab') parts.push('\t');
      },
      onclosetag(name) {
        if (SKIPPED.has(name) && skipping > 0) skipping -= 1;
        if (BLOCKS.has(name)) parts.push('\n');
      },
      ontext(text) {
        if (skipping === 0) parts.push(text);
      },
    },
    { decodeEntities: true, xmlMode: options.xml ?? false, recognizeSelfClosing: true },
  );
  parser.write(markup);
  parser.end();
  return parts.join('').replace(TRAILING_BLANKS, '\n').replace(/\n{3,}/g, '\n\n').trim();
}

/**
 * Blanks before a line break, matched only from the start of their run (the lookbehind): written
 * /[ \t\f\v\r]+\n/g, a run of spaces not followed by a line break was tried again from each of its
 * positions, so its cost grew with the square of its length (attack review of 7 December 2026: a few
 * kilobytes of ODT, each <text:s/> a space, kept a parser busy to its timeout). Now it costs its length.
 */
const TRAILING_BLANKS = /(?<![ \t\f\v\r])[ \t\f\v\r]+\n/g;
