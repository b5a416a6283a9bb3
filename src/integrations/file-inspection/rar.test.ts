// RAR 4 and 5 block headers: encrypted headers and encrypted file entries are found; plain
// archives and damaged headers prove nothing.
import { describe, expect, it } from 'vitest';
import { rar4EncryptedHeaders, rar5 } from '../../../test/support/samples.js';
import { rarEncryption } from './rar.js';

describe('rarEncryption', () => {
  it('finds RAR 5 encrypted headers and encrypted file entries', () => {
    expect(rarEncryption(rar5({ encryptedHeaders: true }))).toBe('RAR 5 archive with encrypted headers');
    expect(rarEncryption(rar5({ encryptedFile: true }))).toBe('RAR 5 file entry with an encryption record');
  });

  it('finds RAR 4 encrypted headers', () => {
    expect(rarEncryption(rar4EncryptedHeaders())).toBe('RAR 4 archive with encrypted headers');
  });

  it('says nothing of a plain archive, a truncated one or something else', () => {
    expect(rarEncryption(rar5())).toBeUndefined();
    expect(rarEncryption(rar5({ encryptedFile: true }).subarray(0, 20))).toBeUndefined();
    expect(rarEncryption(Buffer.from('not a rar at all'))).toBeUndefined();
  });
});
