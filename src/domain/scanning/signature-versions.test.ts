import { describe, expect, it } from 'vitest';
import { dailySignatureNumber, olderSignatures } from './signature-versions.js';

const official = (daily: number, ours = 'strongroom-b8eef5610076') => `ClamAV 1.4.6/${daily}/Tue Nov 24 09:24:01 2026/${ours}`;

describe('signature versions', () => {
  it('reads the daily database\'s number, and none from a set without the official databases', () => {
    expect(dailySignatureNumber(official(27473))).toBe(27473);
    expect(dailySignatureNumber('ClamAV 1.4.6/strongroom-b8eef5610076')).toBeNull();
    expect(dailySignatureNumber('before-the-update')).toBeNull();
  });

  it('calls a set older when its daily database is the same and its engine older: two nodes between package upgrades', () => {
    const engine = (version: string, daily = 27473) => `ClamAV ${version}/${daily}/Tue Nov 24 09:24:01 2026/strongroom-b8eef5610076`;
    expect(olderSignatures(engine('1.4.6'), engine('1.4.7'))).toBe(true);
    expect(olderSignatures(engine('1.4.7'), engine('1.4.6'))).toBe(false);
    expect(olderSignatures(engine('1.4.10'), engine('1.4.9'))).toBe(false);
    expect(olderSignatures(engine('1.4.9'), engine('1.4.10'))).toBe(true);
    expect(olderSignatures(engine('1.5.0'), engine('1.4.7'))).toBe(false);
    // The daily database decides first: a newer engine with an older daily database is still older.
    expect(olderSignatures(engine('1.5.0', 27472), engine('1.4.7'))).toBe(true);
    // An engine version we cannot read is not known to be older.
    expect(olderSignatures(engine('1.4.7-rc'), engine('1.4.7'))).toBe(false);
  });

  it('calls a set older only when both name the daily database and its number is lower', () => {
    expect(olderSignatures(official(27472), official(27473))).toBe(true);
    expect(olderSignatures(official(27474), official(27473))).toBe(false);
    // Same daily database, our own signatures changed (an upgrade): not older, an update.
    expect(olderSignatures(official(27473, 'strongroom-000000000000'), official(27473))).toBe(false);
    expect(olderSignatures('ClamAV 1.4.6/strongroom-b8eef5610076', official(27473))).toBe(false);
    expect(olderSignatures(official(27472), 'ClamAV 1.4.6/strongroom-b8eef5610076')).toBe(false);
  });
});
