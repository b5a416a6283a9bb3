import { describe, expect, it } from 'vitest';
import { MAX_SLOWDOWN_MS, SIGN_IN_THROTTLE, clientNetwork, signInVerdict } from './sign-in-throttle.js';

describe('signInVerdict', () => {
  it('refuses a network or an account at a network past its limit', () => {
    expect(signInVerdict({ network: SIGN_IN_THROTTLE.network.limit, accountAtNetwork: 0, account: 0 })).toEqual({ refuse: true });
    expect(signInVerdict({ network: 0, accountAtNetwork: SIGN_IN_THROTTLE.accountAtNetwork.limit, account: 0 })).toEqual({ refuse: true });
    expect(signInVerdict({ network: 29, accountAtNetwork: 4, account: 0 })).toEqual({ refuse: false, delayMs: 0 });
  });

  it('only slows an account attacked from many networks, never refuses it', () => {
    expect(signInVerdict({ network: 0, accountAtNetwork: 0, account: SIGN_IN_THROTTLE.account.limit - 1 })).toEqual({ refuse: false, delayMs: 0 });
    expect(signInVerdict({ network: 0, accountAtNetwork: 0, account: SIGN_IN_THROTTLE.account.limit })).toEqual({ refuse: false, delayMs: 250 });
    expect(signInVerdict({ network: 0, accountAtNetwork: 0, account: SIGN_IN_THROTTLE.account.limit + 1 })).toEqual({ refuse: false, delayMs: 500 });
    expect(signInVerdict({ network: 0, accountAtNetwork: 0, account: 1_000_000 })).toEqual({ refuse: false, delayMs: MAX_SLOWDOWN_MS });
  });
});

describe('clientNetwork', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff::1', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('counts %s as %s', (address, network) => {
    expect(clientNetwork(address)).toBe(network);
  });

  it('puts clients without an address together', () => {
    expect(clientNetwork(null)).toBe('unknown');
  });
});
