// The PostgreSQL blind index: keyed hashes of normalised terms instead of the terms, and the text kept
// for snippets sealed with AES-256-GCM. Whoever reads the database (or the cluster's files) sees
// neither words nor text; equal words in one organisation hash equally, so matching still works.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { IntegrityError } from '../../domain/errors.js';
import type { Token } from '../../domain/search/terms.js';
import type { QueryTerm } from '../../domain/search/types.js';
import { MAX_PREFIX_LENGTH, MIN_PREFIX_LENGTH } from '../../domain/search/query.js';

/** Bytes of HMAC-SHA256 kept per lexeme: 96 bits, so collisions within an organisation's vocabulary are negligible. */
const HASH_BYTES = 12;
/** tsvector positions stop at 16,383; a chunk starts again at 1. */
export const MAX_CHUNK_POSITIONS = 16_000;
/** A tsvector is capped at 1 MB; stay well below it (each lexeme costs its 24 hex bytes plus 2 per position). */
const MAX_CHUNK_BYTES = 400_000;
/** Terms repeated from the end of one chunk at the start of the next, so a phrase of up to this many words never falls between two. */
export const CHUNK_OVERLAP = 32;

const hash = (key: Buffer, input: string): string => createHmac('sha256', key).update(input, 'utf8').digest().subarray(0, HASH_BYTES).toString('hex');

/** The lexeme of a whole word. */
export const wordLexeme = (key: Buffer, term: string): string => hash(key, `w:${term}`);
/** The lexeme of a prefix (3 to 10 characters) of a word. */
export const prefixLexeme = (key: Buffer, prefix: string): string => hash(key, `p:${prefix}`);

/**
 * The lexemes of a word's prefixes of 3 to 10 characters (never longer than the word). The parser cuts
 * a longer typed prefix to 10 characters, so nothing longer is asked.
 */
function prefixLexemesOf(key: Buffer, term: string, cache: Map<string, string[]>): string[] {
  let lexemes = cache.get(term);
  if (lexemes) return lexemes;
  const chars = Array.from(term);
  lexemes = [];
  for (let n = MIN_PREFIX_LENGTH; n <= Math.min(chars.length, MAX_PREFIX_LENGTH); n++) lexemes.push(prefixLexeme(key, chars.slice(0, n).join('')));
  cache.set(term, lexemes);
  return lexemes;
}

/** One chunk of a section's terms as two tsvector literals: its words, and its words' prefixes. */
export interface TermChunk {
  /** Each word's lexeme at its positions (`'hex':1,5`): for words, phrases and ranking. */
  words: string;
  /** The lexemes of its words' prefixes, each once and with no position (`'hex'`): for prefix queries. */
  prefixes: string;
}

/**
 * A section's tokens as tsvector literals, one pair per chunk. A prefix query tests a lexeme, never a
 * position: were the prefixes positioned too, every position would carry one lexeme per character
 * past the second, and a reader of the table would learn the length of every word in order. They are
 * a column of their own because they are three quarters of a section's lexemes: in one tsvector with
 * the words, ranking a word read them all (a section's tsvector was 7.7 kB on average, several TOAST
 * chunks); apart, a section's words are about 1.6 kB, one chunk. Lexemes are hex, so the literal needs no escaping
 * and nothing a person typed reaches it.
 */
export function tsvectorChunks(key: Buffer, tokens: readonly Token[]): TermChunk[] {
  const chunks: TermChunk[] = [];
  const words = new Map<string, string>();
  const prefixCache = new Map<string, string[]>();
  let start = 0;
  while (start < tokens.length || (start === 0 && chunks.length === 0)) {
    const positions = new Map<string, number[]>();
    const prefixes = new Set<string>();
    let bytes = 0;
    let i = start;
    for (; i < tokens.length && i - start < MAX_CHUNK_POSITIONS && bytes < MAX_CHUNK_BYTES; i++) {
      const term = tokens[i]!.term;
      let lexeme = words.get(term);
      if (lexeme === undefined) words.set(term, (lexeme = wordLexeme(key, term)));
      const list = positions.get(lexeme);
      if (list) list.push(i - start + 1);
      else positions.set(lexeme, [i - start + 1]);
      bytes += list ? 2 : 2 + 2 * HASH_BYTES + 4;
      for (const prefix of prefixLexemesOf(key, term, prefixCache)) {
        if (prefixes.has(prefix)) continue;
        prefixes.add(prefix);
        bytes += 2 * HASH_BYTES + 3;
      }
    }
    // PostgreSQL keeps only the first 256 positions of a lexeme; that changes ranking, not matching.
    chunks.push({
      words: [...positions].map(([lexeme, at]) => `'${lexeme}':${at.slice(0, 256).join(',')}`).join(' '),
      prefixes: [...prefixes].map((lexeme) => `'${lexeme}'`).join(' '),
    });
    if (i >= tokens.length) break;
    start = Math.max(i - CHUNK_OVERLAP, start + 1);
  }
  return chunks;
}

/** tsquery text for one parsed term, under one organisation's key. */
export function tsqueryTerm(key: Buffer, term: QueryTerm): string {
  if (term.kind === 'word') return wordLexeme(key, term.term);
  if (term.kind === 'prefix') return prefixLexeme(key, term.prefix);
  return `(${term.terms.map((t) => wordLexeme(key, t)).join(' <-> ')})`;
}

export const tsqueryAny = (key: Buffer, terms: readonly QueryTerm[]): string => terms.map((t) => tsqueryTerm(key, t)).join(' | ');

/** Where a sealed text belongs: the organisation, document, version and section it was extracted for. */
export interface SealedTextPlace {
  organisationId: string;
  documentId: string;
  versionId: string;
  section: number;
}

/**
 * Binds a sealed text to where it belongs, so a row's text cannot be moved to another version, section
 * or document: the reader passes the document it will show the text under (from the documents row), so
 * an index row re-pointed at another document's version fails to open. (v1 bound no document id, and
 * a version id alone was not enough: the index row naming the version is as writable as the text.)
 */
const aad = (p: SealedTextPlace): Buffer =>
  Buffer.from(`strongroom search text v2\u0000${p.organisationId}\u0000${p.documentId}\u0000${p.versionId}\u0000${p.section}`, 'utf8');

/** nonce (12) ‖ ciphertext ‖ tag (16). */
export function sealText(key: Buffer, place: SealedTextPlace, text: string): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad(place));
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

export function openText(key: Buffer, place: SealedTextPlace, sealed: Buffer): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
    decipher.setAAD(aad(place));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new IntegrityError('A search snippet failed its integrity check.', { cause: error });
  }
}
