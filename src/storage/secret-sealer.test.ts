// Sealed secrets open only with the same key, for the same context, unaltered.
import { describe, expect, it } from 'vitest';
import { MasterKey } from './keys.js';
import { DerivedSecretSealer } from './secret-sealer.js';

describe('DerivedSecretSealer', () => {
  const master = MasterKey.fromBase64(Buffer.alloc(32, 7).toString('base64'));
  const sealer = new DerivedSecretSealer(master, 'identity provider secrets v1');

  it('round-trips, and never holds the secret in clear', () => {
    const sealed = sealer.seal('provider-1', 'client-secret-value');
    expect(sealed.includes(Buffer.from('client-secret-value'))).toBe(false);
    expect(sealer.open('provider-1', sealed)).toBe('client-secret-value');
    expect(sealer.seal('provider-1', 'client-secret-value').equals(sealed)).toBe(false); // a fresh nonce each time
  });

  it('refuses another context, another purpose\'s key, and any altered byte', () => {
    const sealed = sealer.seal('provider-1', 's');
    expect(sealer.open('provider-2', sealed)).toBeNull();
    expect(new DerivedSecretSealer(master, 'oidc browser cookies v1').open('provider-1', sealed)).toBeNull();
    for (let i = 0; i < sealed.length; i++) {
      const altered = Buffer.from(sealed);
      altered[i]! ^= 1;
      expect(sealer.open('provider-1', altered)).toBeNull();
    }
    expect(sealer.open('provider-1', Buffer.alloc(5))).toBeNull();
  });
});
