// Signed notes and checkpoints: byte-for-byte agreement with Go's golang.org/x/mod/sumdb/note
// test vectors, then checkpoint round trips and tampering.

import { describe, expect, it } from 'vitest';
import { DomainError, IntegrityError } from '../errors.js';
import { EMPTY_ROOT, leafHash } from './merkle.js';
import {
  assertVerifierKey,
  formatCheckpoint,
  generateSignerKey,
  keyName,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  signCheckpoint,
  signNote,
  verifierKeyFromSigner,
} from './signed-note.js';

// From golang.org/x/mod sumdb/note/note_test.go.
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG = '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

const ROOT = leafHash(Buffer.from('some root'));

describe('compatibility with Go sumdb/note', () => {
  it('derives the published verifier key from the published signer key', () => {
    expect(verifierKeyFromSigner(PETER_SKEY)).toBe(PETER_VKEY);
    expect(keyName(PETER_SKEY)).toBe('PeterNeumann');
    expect(keyName(PETER_VKEY)).toBe('PeterNeumann');
  });

  it('signs exactly as Go does', () => {
    expect(signNote(TEXT, PETER_SKEY)).toBe(`${TEXT}\n${PETER_SIG}`);
  });

  it("opens Go's notes, ignoring signatures from keys it was not given", () => {
    const opened = openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, PETER_VKEY);
    expect(opened.text).toBe(TEXT);
    expect(opened.otherSignatures).toEqual([{ name: 'EnochRoot', keyHash: 'af0cfe78' }]);
    expect(openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, ENOCH_VKEY).text).toBe(TEXT);
  });

  it('rejects a note with no signature from the key', () => {
    expect(() => openNote(`${TEXT}\n${ENOCH_SIG}`, PETER_VKEY)).toThrow(/no signature from key PeterNeumann\+c74f20a3/);
  });

  it('rejects an invalid signature', () => {
    const bad = `${TEXT}\n${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`;
    expect(() => openNote(bad, PETER_VKEY)).toThrow(IntegrityError);
  });

  it('rejects the malformed messages Go rejects', () => {
    const bad = [
      TEXT,
      `${TEXT}\n`,
      `${TEXT}\n${PETER_SIG.slice(0, -1)}`,
      `\x01${TEXT}\n${PETER_SIG}`,
      `${TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${TEXT}\n${PETER_SIG}Unexpected line.\n`,
      `${TEXT}\n${PETER_SIG.repeat(101)}`,
      `\uD800${TEXT}\n${PETER_SIG}`,
    ];
    for (const note of bad) expect(() => openNote(note, PETER_VKEY), JSON.stringify(note)).toThrow(IntegrityError);
  });

  it('rejects a signature line naming our key with a different key hash', () => {
    const wrongHash = PETER_SIG.replace('x08g', 'xxxx');
    expect(() => openNote(`${TEXT}\n${wrongHash}`, PETER_VKEY)).toThrow(IntegrityError);
  });

  it('rejects every mangling of the verifier key', () => {
    assertVerifierKey(PETER_VKEY);
    const accepted: string[] = [];
    const tryKey = (k: string) => {
      try {
        assertVerifierKey(k);
        accepted.push(k);
      } catch (err) {
        expect(err).toBeInstanceOf(DomainError);
      }
    };
    for (let i = 0; i <= PETER_VKEY.length; i++) {
      for (let j = i + 1; j <= PETER_VKEY.length; j++) if (i !== 0 || j !== PETER_VKEY.length) tryKey(PETER_VKEY.slice(i, j));
    }
    for (let i = 0; i < PETER_VKEY.length; i++) {
      tryKey(PETER_VKEY.slice(0, i) + String.fromCharCode(PETER_VKEY.charCodeAt(i) + 1) + PETER_VKEY.slice(i + 1));
    }
    tryKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='); // wrong length, adjusted hash
    tryKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'); // unknown algorithm, adjusted hash
    expect(accepted).toEqual([]);
  });

  it('rejects every mangling of the signer key', () => {
    const accepted: string[] = [];
    const tryKey = (k: string) => {
      try {
        verifierKeyFromSigner(k);
        accepted.push(k);
      } catch (err) {
        expect(err).toBeInstanceOf(DomainError);
      }
    };
    for (let i = 0; i <= PETER_SKEY.length; i++) {
      for (let j = i + 1; j <= PETER_SKEY.length; j++) if (i !== 0 || j !== PETER_SKEY.length) tryKey(PETER_SKEY.slice(i, j));
    }
    for (let i = 0; i < PETER_SKEY.length; i++) {
      tryKey(PETER_SKEY.slice(0, i) + String.fromCharCode(PETER_SKEY.charCodeAt(i) + 1) + PETER_SKEY.slice(i + 1));
    }
    expect(accepted).toEqual([]);
  });
});

describe('keys', () => {
  it('generates a Go-format key pair that signs and verifies', () => {
    const skey = generateSignerKey('strongroom.example/audit');
    expect(skey).toMatch(/^PRIVATE\+KEY\+strongroom\.example\/audit\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
    const vkey = verifierKeyFromSigner(skey);
    expect(vkey).toMatch(/^strongroom\.example\/audit\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
    expect(vkey.split('+')[1]).toBe(skey.split('+')[3]);
    expect(openNote(signNote('hello\n', skey), vkey).text).toBe('hello\n');
    expect(generateSignerKey('x')).not.toBe(generateSignerKey('x'));
  });

  it('refuses key names that would break the key or signature syntax', () => {
    for (const name of ['', 'a b', 'a+b', 'tab\tname', 'nl\nname']) expect(() => generateSignerKey(name)).toThrow(DomainError);
  });

  it('refuses to sign text that would not survive the note format', () => {
    for (const text of ['no newline', 'blank\n\nline\n', '\nleading\n', 'ctl\u0007\n']) {
      expect(() => signNote(text, PETER_SKEY)).toThrow(DomainError);
    }
  });
});

describe('checkpoints', () => {
  const skey = generateSignerKey('strongroom-test');
  const vkey = verifierKeyFromSigner(skey);
  const cp = { origin: 'strongroom.test/audit', treeSize: 1234, rootHash: ROOT };

  it('writes the C2SP checkpoint body and signs it', () => {
    const note = signCheckpoint(cp, skey);
    const [body, sigLine] = note.split('\n\n');
    expect(body).toBe(`strongroom.test/audit\n1234\n${ROOT.toString('base64')}`);
    expect(sigLine).toMatch(/^— strongroom-test [A-Za-z0-9+/]{91}=\n$/);
    const sig = Buffer.from(sigLine!.split(' ')[2]!, 'base64');
    expect(sig).toHaveLength(68);
    expect(sig.subarray(0, 4).toString('hex')).toBe(vkey.split('+')[1]);
  });

  it('round-trips', () => {
    expect(openCheckpoint(signCheckpoint(cp, skey), vkey)).toEqual(cp);
    const empty = { origin: 'o', treeSize: 0, rootHash: EMPTY_ROOT };
    expect(openCheckpoint(signCheckpoint(empty, skey), vkey)).toEqual(empty);
    expect(openCheckpoint(signCheckpoint(cp, skey), vkey, cp.origin)).toEqual(cp);
  });

  it('fails when any single character of the signed note is changed', () => {
    const note = signCheckpoint(cp, skey);
    const accepted: number[] = [];
    for (let i = 0; i < note.length; i++) {
      const changed = note.slice(0, i) + String.fromCharCode(note.charCodeAt(i) ^ 1) + note.slice(i + 1);
      try {
        openCheckpoint(changed, vkey);
        accepted.push(i);
      } catch (err) {
        expect(err).toBeInstanceOf(IntegrityError);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('rejects trailing junk, extension lines and non-canonical bodies even when signed', () => {
    const note = signCheckpoint(cp, skey);
    expect(() => openCheckpoint(`${note}junk\n`, vkey)).toThrow(IntegrityError);
    expect(() => openCheckpoint(`${note}\n`, vkey)).toThrow(IntegrityError);
    expect(() => openCheckpoint(note.replace(/\n$/, ''), vkey)).toThrow(IntegrityError);
    const signedBodies = [
      `${formatCheckpoint(cp)}extension line\n`,
      `strongroom.test/audit\n01234\n${ROOT.toString('base64')}\n`,
      `strongroom.test/audit\n+1234\n${ROOT.toString('base64')}\n`,
      `strongroom.test/audit\n${2 ** 53}\n${ROOT.toString('base64')}\n`,
      `strongroom.test/audit\n1234\n${ROOT.subarray(1).toString('base64')}\n`,
      `strongroom.test/audit\n1234\n${ROOT.toString('base64').replace(/=$/, '')}\n`,
      `strongroom.test/audit\n1234\n`,
      `\n1234\n${ROOT.toString('base64')}\n`.slice(1),
    ];
    for (const body of signedBodies) {
      let note2: string;
      try {
        note2 = signNote(body, skey);
      } catch {
        continue; // not even signable: fine
      }
      expect(openNote(note2, vkey).text).toBe(body); // a valid note…
      expect(() => openCheckpoint(note2, vkey), body).toThrow(IntegrityError); // …but not a valid checkpoint
    }
  });

  it('rejects a checkpoint signed by another key, even one with the same name', () => {
    const impostor = generateSignerKey('strongroom-test');
    expect(() => openCheckpoint(signCheckpoint(cp, impostor), vkey)).toThrow(IntegrityError);
    expect(() => openCheckpoint(signCheckpoint(cp, generateSignerKey('other')), vkey)).toThrow(IntegrityError);
  });

  it('accepts a witness cosignature but not a second, bad signature from our key', () => {
    const note = signCheckpoint(cp, skey);
    const witness = signNote(formatCheckpoint(cp), generateSignerKey('witness.example'));
    const cosigned = note + witness.split('\n\n')[1];
    expect(openCheckpoint(cosigned, vkey)).toEqual(cp);
    const ourLine = note.split('\n\n')[1]!;
    const forged = ourLine.replace(/[A-Za-z0-9+/]{10}=\n$/, 'AAAAAAAAAA=\n');
    expect(() => openCheckpoint(note + forged, vkey)).toThrow(IntegrityError);
  });

  it('pins the origin when asked', () => {
    expect(() => openCheckpoint(signCheckpoint(cp, skey), vkey, 'another.log')).toThrow(/not "another.log"/);
  });

  it('refuses to write a checkpoint that could not be read back', () => {
    expect(() => formatCheckpoint({ ...cp, origin: 'two\nlines' })).toThrow(DomainError);
    expect(() => formatCheckpoint({ ...cp, origin: '' })).toThrow(DomainError);
    expect(() => formatCheckpoint({ ...cp, treeSize: -1 })).toThrow(DomainError);
    expect(() => formatCheckpoint({ ...cp, treeSize: 1.5 })).toThrow(DomainError);
    expect(() => formatCheckpoint({ ...cp, rootHash: Buffer.alloc(31) })).toThrow(DomainError);
    expect(parseCheckpoint(formatCheckpoint(cp))).toEqual(cp);
  });
});
