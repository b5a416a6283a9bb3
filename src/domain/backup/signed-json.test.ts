import { describe, expect, it } from 'vitest';
import { generateSignerKey, verifierKeyFromSigner } from '../audit/signed-note.js';
import { DRILL_REPORT_KIND, MANIFEST_KIND, openJson, signJson } from './signed-json.js';

describe('signed JSON notes (backup manifests, drill reports)', () => {
  const signer = generateSignerKey('strongroom.test/audit');
  const verifier = verifierKeyFromSigner(signer);

  it('round-trips a value, control characters and all', () => {
    const value = { id: 'b1', text: 'line\nbreak\ttab "quoted" £', n: [1, 2] };
    expect(openJson(MANIFEST_KIND, signJson(MANIFEST_KIND, value, signer), verifier)).toEqual(value);
  });

  it('fails when one byte is edited, when the kind differs, or with another key', () => {
    const note = signJson(DRILL_REPORT_KIND, { passed: false }, signer);
    expect(() => openJson(DRILL_REPORT_KIND, note.replace('false', 'true '), verifier)).toThrow(/Invalid signature/);
    expect(() => openJson(MANIFEST_KIND, note, verifier)).toThrow(/Not a strongroom backup manifest v1/);
    const other = verifierKeyFromSigner(generateSignerKey('strongroom.test/audit'));
    expect(() => openJson(DRILL_REPORT_KIND, note, other)).toThrow(/no signature from key/);
  });
});
