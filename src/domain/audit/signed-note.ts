// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and the transparency-log
// checkpoint carried in them (https://c2sp.org/tlog-checkpoint). Key strings and note bytes are
// those of Go's golang.org/x/mod/sumdb/note, so standard tooling can check our checkpoints.

import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { IntegrityError, invalid } from '../errors.js';
import { HASH_SIZE } from './merkle.js';

/** The signed content of a checkpoint. */
export interface Checkpoint {
  origin: string;
  treeSize: number;
  rootHash: Buffer;
}

const ALG_ED25519 = 0x01;
const SIG_PREFIX = '\u2014 '; // em dash and a space
// Node takes raw Ed25519 keys only wrapped in DER; these are the fixed PKCS#8 and SPKI headers.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
// As Go's note.Open: a bound on work spent on signatures nobody asked for.
const MAX_SIGNATURES = 100;

interface ParsedVerifier {
  name: string;
  keyHash: Buffer;
  publicKey: KeyObject;
}

interface ParsedSigner {
  name: string;
  keyHash: Buffer;
  privateKey: KeyObject;
  publicKeyRaw: Buffer;
}

/** Non-empty, no Unicode white space, no '+': the key string is '+'-separated and the signature line space-separated. */
function isValidName(name: string): boolean {
  return name !== '' && !/[\s+]/u.test(name) && isWellFormed(name);
}

function isWellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/**
 * Strict standard base64 (with padding): Buffer.from(..., 'base64') silently skips bad
 * characters, which would let two different strings stand for one key or signature.
 */
function decodeBase64(s: string): Buffer | undefined {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? bytes : undefined;
}

/** First four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key). */
function computeKeyHash(name: string, publicKeyRaw: Buffer): Buffer {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, ALG_ED25519]))
    .update(publicKeyRaw)
    .digest()
    .subarray(0, 4);
}

function privateKeyFromSeed(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function rawPublicKey(privateKey: KeyObject): Buffer {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return Buffer.from(spki.subarray(SPKI_ED25519_PREFIX.length));
}

function parseKeyHash(hex: string): Buffer | undefined {
  return /^[0-9a-fA-F]{8}$/.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

/** Splits at the first `count - 1` '+' signs only: base64 key material may itself contain '+'. */
function splitKey(key: string, count: number): string[] {
  const parts: string[] = [];
  let rest = key;
  for (let i = 1; i < count; i++) {
    const at = rest.indexOf('+');
    if (at < 0) return [...parts, rest];
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  return [...parts, rest];
}

// Verifying a log checks many checkpoints against one key; parsing it (and building the
// KeyObject) costs more than the signature check, so keep the few keys recently seen.
const verifierCache = new Map<string, ParsedVerifier>();
const VERIFIER_CACHE_SIZE = 8;

function parseVerifierKey(verifierKey: string): ParsedVerifier {
  const cached = verifierCache.get(verifierKey);
  if (cached) return cached;
  const parsed = parseVerifierKeyUncached(verifierKey);
  if (verifierCache.size >= VERIFIER_CACHE_SIZE) verifierCache.delete(verifierCache.keys().next().value!);
  verifierCache.set(verifierKey, parsed);
  return parsed;
}

function parseVerifierKeyUncached(verifierKey: string): ParsedVerifier {
  if (typeof verifierKey !== 'string') throw invalid('Malformed verifier key: not a string.');
  const parts = splitKey(verifierKey, 3);
  const bad = (why: string) => invalid(`Malformed verifier key: ${why}.`);
  if (parts.length !== 3) throw bad('expected <name>+<key hash>+<key>');
  const [name, hashHex, key64] = parts as [string, string, string];
  if (!isValidName(name)) throw bad('invalid name');
  const keyHash = parseKeyHash(hashHex);
  const key = decodeBase64(key64);
  if (!keyHash || !key) throw bad('invalid encoding');
  if (key[0] !== ALG_ED25519 || key.length !== 33) throw bad('not an Ed25519 key');
  const publicKeyRaw = key.subarray(1);
  if (!computeKeyHash(name, publicKeyRaw).equals(keyHash)) throw bad('key hash does not match the key');
  const publicKey = createPublicKey({
    key: Buffer.concat([SPKI_ED25519_PREFIX, publicKeyRaw]),
    format: 'der',
    type: 'spki',
  });
  return { name, keyHash, publicKey };
}

function parseSignerKey(signerKey: string): ParsedSigner {
  if (typeof signerKey !== 'string') throw invalid('Malformed signer key: not a string.');
  const parts = splitKey(signerKey, 5);
  const bad = (why: string) => invalid(`Malformed signer key: ${why}.`);
  if (parts.length !== 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') {
    throw bad('expected PRIVATE+KEY+<name>+<key hash>+<key>');
  }
  const [, , name, hashHex, key64] = parts as [string, string, string, string, string];
  if (!isValidName(name)) throw bad('invalid name');
  const keyHash = parseKeyHash(hashHex);
  const key = decodeBase64(key64);
  if (!keyHash || !key) throw bad('invalid encoding');
  if (key[0] !== ALG_ED25519 || key.length !== 33) throw bad('not an Ed25519 key');
  const privateKey = privateKeyFromSeed(Buffer.from(key.subarray(1)));
  const publicKeyRaw = rawPublicKey(privateKey);
  // The hash covers the public key, so it can only be checked after deriving it.
  if (!computeKeyHash(name, publicKeyRaw).equals(keyHash)) throw bad('key hash does not match the key');
  return { name, keyHash, privateKey, publicKeyRaw };
}

function verifierKeyString(name: string, publicKeyRaw: Buffer): string {
  const hash = computeKeyHash(name, publicKeyRaw).toString('hex');
  return `${name}+${hash}+${Buffer.concat([Buffer.from([ALG_ED25519]), publicKeyRaw]).toString('base64')}`;
}

/** A new signer key, `PRIVATE+KEY+<name>+<hex key hash>+<base64(0x01 ‖ seed)>`. Keep it secret. */
export function generateSignerKey(name: string): string {
  if (!isValidName(name)) throw invalid('A key name must be non-empty, without spaces or "+".');
  const seed = randomBytes(32);
  const publicKeyRaw = rawPublicKey(privateKeyFromSeed(seed));
  const hash = computeKeyHash(name, publicKeyRaw).toString('hex');
  return `PRIVATE+KEY+${name}+${hash}+${Buffer.concat([Buffer.from([ALG_ED25519]), seed]).toString('base64')}`;
}

/** The public verifier key, `<name>+<hex key hash>+<base64(0x01 ‖ public key)>`, for a signer key. */
export function verifierKeyFromSigner(signerKey: string): string {
  const signer = parseSignerKey(signerKey);
  return verifierKeyString(signer.name, signer.publicKeyRaw);
}

/** Checks a verifier key string, throwing a DomainError('INVALID') if it is malformed. */
export function assertVerifierKey(verifierKey: string): void {
  parseVerifierKey(verifierKey);
}

/** The `<name>` part of a verifier or signer key. */
export function keyName(key: string): string {
  return key.startsWith('PRIVATE+KEY+') ? parseSignerKey(key).name : parseVerifierKey(key).name;
}

function assertNoteText(text: string): void {
  // As the spec: valid UTF-8, no control characters other than newline, ends with a newline.
  if (!isWellFormed(text) || /[\u0000-\u0009\u000b-\u001f]/.test(text)) {
    throw invalid('Note text must be valid Unicode without control characters.');
  }
  if (!text.endsWith('\n')) throw invalid('Note text must end with a newline.');
  if (text.startsWith('\n') || text.includes('\n\n')) {
    throw invalid('Note text must not contain blank lines: a blank line starts the signatures.');
  }
}

/** Signs arbitrary note text; returns the text, a blank line and one signature line. */
export function signNote(text: string, signerKey: string): string {
  assertNoteText(text);
  const signer = parseSignerKey(signerKey);
  const signature = sign(null, Buffer.from(text, 'utf8'), signer.privateKey);
  const sig64 = Buffer.concat([signer.keyHash, signature]).toString('base64');
  return `${text}\n${SIG_PREFIX}${signer.name} ${sig64}\n`;
}

/** The result of opening a note: its text and the signatures from other keys (e.g. witnesses), unchecked. */
export interface OpenedNote {
  text: string;
  otherSignatures: Array<{ name: string; keyHash: string }>;
}

/**
 * Verifies a signed note against one verifier key and returns its text. Throws IntegrityError
 * unless the note is well formed and carries a valid signature from that key. Signature lines
 * from other keys are allowed (C2SP lets witnesses cosign) but are not trusted; anything else
 * after the blank line is rejected.
 */
export function openNote(note: string, verifierKey: string): OpenedNote {
  const verifier = parseVerifierKey(verifierKey);
  const malformed = (why: string) => new IntegrityError(`Malformed signed note: ${why}.`);
  if (typeof note !== 'string') throw malformed('not a string');
  if (!isWellFormed(note) || /[\u0000-\u0009\u000b-\u001f]/.test(note)) throw malformed('control characters or invalid Unicode');

  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no signature block');
  const text = note.slice(0, split + 1);
  const sigBlock = note.slice(split + 2);
  if (sigBlock === '' || !sigBlock.endsWith('\n')) throw malformed('signature block must end with a newline');
  if (text.startsWith('\n') || text === '\n') throw malformed('empty text');

  const lines = sigBlock.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw malformed('too many signatures');
  const message = Buffer.from(text, 'utf8');
  let verified = 0;
  const otherSignatures: OpenedNote['otherSignatures'] = [];
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX)) throw malformed('a line after the blank line is not a signature');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? rest : rest.slice(0, space);
    const sig = space < 0 ? undefined : decodeBase64(rest.slice(space + 1));
    if (!isValidName(name) || !sig || sig.length < 5) throw malformed('bad signature line');
    const keyHash = sig.subarray(0, 4);
    if (name !== verifier.name || !keyHash.equals(verifier.keyHash)) {
      otherSignatures.push({ name, keyHash: keyHash.toString('hex') });
      continue;
    }
    // Unlike Go, which skips repeats, every signature claiming our key must be valid.
    if (!verify(null, message, verifier.publicKey, sig.subarray(4))) {
      throw new IntegrityError(`Invalid signature for key ${verifier.name}+${verifier.keyHash.toString('hex')}.`);
    }
    verified += 1;
  }
  if (verified === 0) {
    throw new IntegrityError(`The note has no signature from key ${verifier.name}+${verifier.keyHash.toString('hex')}.`);
  }
  return { text, otherSignatures };
}

/** The checkpoint body: origin, decimal tree size and base64 root hash, one per line. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, treeSize, rootHash } = checkpoint;
  if (typeof origin !== 'string' || origin === '' || /[\n\u0000-\u001f]/.test(origin) || !isWellFormed(origin)) {
    throw invalid('A checkpoint origin must be a non-empty single line.');
  }
  if (!Number.isSafeInteger(treeSize) || treeSize < 0) throw invalid('A checkpoint tree size must be a non-negative integer.');
  if (!Buffer.isBuffer(rootHash) || rootHash.length !== HASH_SIZE) throw invalid('A checkpoint root hash must be 32 bytes.');
  return `${origin}\n${treeSize}\n${rootHash.toString('base64')}\n`;
}

/**
 * Parses a checkpoint body. Extension lines are rejected: we never write them, so one can
 * only mean the note came from somewhere else.
 */
export function parseCheckpoint(text: string): Checkpoint {
  const malformed = (why: string) => new IntegrityError(`Malformed checkpoint: ${why}.`);
  const lines = text.split('\n');
  if (lines.length !== 4 || lines[3] !== '') throw malformed('expected exactly origin, tree size and root hash lines');
  const [origin, sizeText, root64] = lines as [string, string, string];
  if (origin === '') throw malformed('empty origin');
  // Canonical decimal only (no sign, no leading zeros), so one tree size has one encoding.
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw malformed('tree size is not a decimal number');
  const treeSize = Number(sizeText);
  if (!Number.isSafeInteger(treeSize)) throw malformed('tree size too large');
  const rootHash = decodeBase64(root64);
  if (!rootHash || rootHash.length !== HASH_SIZE) throw malformed('root hash is not 32 bytes of base64');
  return { origin, treeSize, rootHash };
}

/** Signs a checkpoint with the log's key; returns the complete signed note. */
export function signCheckpoint(checkpoint: Checkpoint, signerKey: string): string {
  return signNote(formatCheckpoint(checkpoint), signerKey);
}

/**
 * Verifies a signed checkpoint and returns its content. Throws IntegrityError on a bad or
 * missing signature or a malformed body; pass `origin` to also pin which log it is from.
 */
export function openCheckpoint(note: string, verifierKey: string, origin?: string): Checkpoint {
  const { text } = openNote(note, verifierKey);
  const checkpoint = parseCheckpoint(text);
  if (origin !== undefined && checkpoint.origin !== origin) {
    throw new IntegrityError(`The checkpoint is for log "${checkpoint.origin}", not "${origin}".`);
  }
  return checkpoint;
}
