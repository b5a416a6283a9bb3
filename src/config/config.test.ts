import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { ConfigError, loadConfig } from './config.js';
import { listenProblems, parseTrustProxy } from './network-settings.js';
import { offsiteInsideDataDir } from './storage-settings.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({ env: {} });
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8080);
    expect(config.dataDir).toMatch(/\/data$/);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.inlineScanMaxBytes).toBe(64 * 1024 * 1024);
  });

  it('hashes passwords at the standard cost unless STRONGROOM_PASSWORD_HASHING names the test suites\' weak one', () => {
    expect(loadConfig({ env: {} }).passwordHashing).toBe('standard');
    expect(loadConfig({ env: { STRONGROOM_PASSWORD_HASHING: 'test-only-weak' } }).passwordHashing).toBe('test-only-weak');
    for (const bad of ['weak', 'fast', 'none']) expect(() => loadConfig({ env: { STRONGROOM_PASSWORD_HASHING: bad } })).toThrow(/STRONGROOM_PASSWORD_HASHING: /);
  });

  it('keeps 64 MiB of the embedded database decrypted in memory unless STRONGROOM_SQLITE_CACHE_MIB says otherwise', () => {
    expect(loadConfig({ env: {} }).sqliteCacheMib).toBe(64);
    expect(loadConfig({ env: { STRONGROOM_SQLITE_CACHE_MIB: '256' } }).sqliteCacheMib).toBe(256);
    for (const bad of ['0', '-8', '1.5', 'lots']) expect(() => loadConfig({ env: { STRONGROOM_SQLITE_CACHE_MIB: bad } })).toThrow(/STRONGROOM_SQLITE_CACHE_MIB: /);
  });

  it('gives the main connection 2 MiB of pages unless STRONGROOM_SQLITE_MAIN_CACHE_MIB says otherwise, and never more than a lower STRONGROOM_SQLITE_CACHE_MIB', () => {
    const caches = (env: Record<string, string>) => {
      const config = loadConfig({ env });
      return { reader: config.sqliteCacheMib, main: config.sqliteMainCacheMib };
    };
    expect(caches({})).toEqual({ reader: 64, main: 2 });
    expect(caches({ STRONGROOM_SQLITE_CACHE_MIB: '256' })).toEqual({ reader: 256, main: 2 });
    // Before the two were apart, STRONGROOM_SQLITE_CACHE_MIB governed both: lowered to save memory, it still does.
    expect(caches({ STRONGROOM_SQLITE_CACHE_MIB: '1' })).toEqual({ reader: 1, main: 1 });
    expect(caches({ STRONGROOM_SQLITE_MAIN_CACHE_MIB: '16' })).toEqual({ reader: 64, main: 16 });
    expect(caches({ STRONGROOM_SQLITE_MAIN_CACHE_MIB: '16', STRONGROOM_SQLITE_CACHE_MIB: '1' })).toEqual({ reader: 1, main: 16 });
    for (const bad of ['0', '-8', '1.5', 'lots']) {
      expect(() => loadConfig({ env: { STRONGROOM_SQLITE_MAIN_CACHE_MIB: bad } })).toThrow(/STRONGROOM_SQLITE_MAIN_CACHE_MIB: /);
    }
    // A bad shared setting is reported once, as itself, not again as the main connection's.
    expect(() => loadConfig({ env: { STRONGROOM_SQLITE_CACHE_MIB: 'lots' } })).toThrow(/STRONGROOM_SQLITE_CACHE_MIB: /);
    expect(() => loadConfig({ env: { STRONGROOM_SQLITE_CACHE_MIB: 'lots' } })).not.toThrow(/STRONGROOM_SQLITE_MAIN_CACHE_MIB/);
  });

  it('lets flags win over the environment', () => {
    const config = loadConfig({ env: { STRONGROOM_PORT: '9000', STRONGROOM_DATA: '/tmp/a' }, flags: { port: '9100', data: '/tmp/b' } });
    expect(config.port).toBe(9100);
    expect(config.dataDir).toBe('/tmp/b');
  });

  it('takes the process role from --role, then STRONGROOM_ROLE, defaulting to all', () => {
    expect(loadConfig({ env: {} }).role).toBe('all');
    expect(loadConfig({ env: { STRONGROOM_ROLE: 'web' } }).role).toBe('web');
    expect(loadConfig({ env: { STRONGROOM_ROLE: 'web' }, flags: { role: 'worker' } }).role).toBe('worker');
    expect(() => loadConfig({ env: {}, flags: { role: 'scheduler' } })).toThrow(/STRONGROOM_ROLE: /);
  });

  it('keeps deleted documents in the bin for STRONGROOM_BIN_DAYS days (30 by default), a whole number of at least 1', () => {
    expect(loadConfig({ env: {} }).binDays).toBe(30);
    expect(loadConfig({ env: { STRONGROOM_BIN_DAYS: '90' } }).binDays).toBe(90);
    for (const bad of ['0', '-1', '2.5', 'month']) expect(() => loadConfig({ env: { STRONGROOM_BIN_DAYS: bad } })).toThrow(/STRONGROOM_BIN_DAYS: /);
  });

  it('takes a daily backup into the replica by default, from STRONGROOM_BACKUP_HOUR, keeping STRONGROOM_BACKUP_KEEP', () => {
    expect(loadConfig({ env: {} })).toMatchObject({ backupSchedule: 'daily', backupHour: 1, backupKeep: 14 });
    expect(loadConfig({ env: { STRONGROOM_BACKUP: 'off' } }).backupSchedule).toBe('off');
    expect(loadConfig({ env: { STRONGROOM_BACKUP_HOUR: '23', STRONGROOM_BACKUP_KEEP: '3' } })).toMatchObject({ backupHour: 23, backupKeep: 3 });
    // No replica, nothing to back up into: off by default, a problem when asked for.
    expect(loadConfig({ env: { STRONGROOM_REPLICA: 'none' } }).backupSchedule).toBe('off');
    expect(() => loadConfig({ env: { STRONGROOM_REPLICA: 'none', STRONGROOM_BACKUP: 'daily' } })).toThrow(/STRONGROOM_BACKUP: a daily backup goes into the replica, and STRONGROOM_REPLICA is none/);
    for (const bad of ['24', '-1', '1.5', 'two']) expect(() => loadConfig({ env: { STRONGROOM_BACKUP_HOUR: bad } })).toThrow(/STRONGROOM_BACKUP_HOUR: /);
    for (const bad of ['0', 'all']) expect(() => loadConfig({ env: { STRONGROOM_BACKUP_KEEP: bad } })).toThrow(/STRONGROOM_BACKUP_KEEP: /);
    expect(() => loadConfig({ env: { STRONGROOM_BACKUP: 'weekly' } })).toThrow(/STRONGROOM_BACKUP: /);
  });

  it('lists every problem at once, naming the variable', () => {
    let error: unknown;
    try {
      loadConfig({ env: { STRONGROOM_PORT: 'eighty', STRONGROOM_DATABASE_URL: 'mysql://x', STRONGROOM_TLS_CERT: '/c.pem' } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('STRONGROOM_PORT');
    expect(problems).toContain('STRONGROOM_DATABASE_URL');
    expect(problems).toContain('--tls-key');
  });
});

describe('the offsite folder', () => {
  it('defaults to beside the data directory, never inside it', () => {
    const config = loadConfig({ env: { STRONGROOM_DATA: '/srv/strongroom' } });
    expect(config.offsiteDir).toBe('/srv/strongroom-offsite');
    expect(offsiteInsideDataDir(config)).toBe(false);
    const relative = loadConfig({ env: {} });
    expect(relative.offsiteDir).toBe(`${relative.dataDir}-offsite`);
    expect(offsiteInsideDataDir(relative)).toBe(false);
    expect(offsiteInsideDataDir(loadConfig({ env: { STRONGROOM_DATA: '/' } }))).toBe(true);
  });

  it('takes STRONGROOM_OFFSITE (an empty value means the default)', () => {
    expect(loadConfig({ env: { STRONGROOM_DATA: '/srv/sr', STRONGROOM_OFFSITE: '/mnt/offsite' } }).offsiteDir).toBe('/mnt/offsite');
    expect(loadConfig({ env: { STRONGROOM_DATA: '/srv/sr', STRONGROOM_OFFSITE: '' } }).offsiteDir).toBe('/srv/sr-offsite');
  });

  it('is called inside the data directory when it is the directory, under it, or reached through ..', () => {
    const inside = (offsite: string) => offsiteInsideDataDir(loadConfig({ env: { STRONGROOM_DATA: '/srv/sr', STRONGROOM_OFFSITE: offsite } }));
    expect(inside('/srv/sr')).toBe(true);
    expect(inside('/srv/sr/offsite')).toBe(true);
    expect(inside('/srv/other/../sr/offsite')).toBe(true);
    expect(inside('/srv/sr..offsite')).toBe(false);
    expect(inside('/srv/sr-offsite')).toBe(false);
    expect(inside(path.join('/mnt', 'offsite'))).toBe(false);
  });
});

describe('upload and scanner limits', () => {
  it('defaults to shares that keep one party below the whole, and clamd below its queue', () => {
    const config = loadConfig({ env: {} });
    expect(config).toMatchObject({
      uploadsPerAccount: 4, uploadsPerClient: 8, uploadsPerOrganisation: 16, uploadsTotal: 64, uploadIdleSeconds: 30, uploadMinBytesPerSecond: 1024, connectionIdleSeconds: 120,
      scanStreamsPerAccount: 4, scanStreamsPerOrganisation: 4, scanStreamsTotal: 12, scanJobsAtOnce: 2,
    });
  });

  it('refuses a share larger than its whole, or one organisation owning every scanner stream', () => {
    const problems = (env: Record<string, string>): string[] => {
      try {
        loadConfig({ env });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ STRONGROOM_UPLOADS_PER_ACCOUNT: '20' })).toEqual([expect.stringMatching(/^STRONGROOM_UPLOADS_PER_ACCOUNT: must not be more than STRONGROOM_UPLOADS_PER_ORGANISATION/)]);
    expect(problems({ STRONGROOM_SCAN_STREAMS_PER_ORGANISATION: '12' })).toEqual([expect.stringContaining('one organisation could take every scanner stream')]);
    const everyStream = 'or the scan jobs could hold every scanner stream, and no upload would be scanned before it is answered';
    expect(problems({ STRONGROOM_SCAN_JOBS_AT_ONCE: '13' })).toEqual([`STRONGROOM_SCAN_JOBS_AT_ONCE: must be less than STRONGROOM_SCAN_STREAMS_TOTAL (12), ${everyStream}`]);
    // Scan jobs hold streams of no organisation's share: as many as the total would leave none for any upload's scan.
    expect(problems({ STRONGROOM_SCAN_JOBS_AT_ONCE: '12' })).toEqual([`STRONGROOM_SCAN_JOBS_AT_ONCE: must be less than STRONGROOM_SCAN_STREAMS_TOTAL (12), ${everyStream}`]);
    expect(problems({ STRONGROOM_SCAN_STREAMS_PER_ORGANISATION: '1', STRONGROOM_SCAN_STREAMS_PER_ACCOUNT: '1', STRONGROOM_SCAN_STREAMS_TOTAL: '2', STRONGROOM_SCAN_JOBS_AT_ONCE: '2' }))
      .toEqual([`STRONGROOM_SCAN_JOBS_AT_ONCE: must be less than STRONGROOM_SCAN_STREAMS_TOTAL (2), ${everyStream}`]);
    expect(loadConfig({ env: { STRONGROOM_SCAN_JOBS_AT_ONCE: '11' } }).scanJobsAtOnce).toBe(11);
    // A total lowered to fit a small tmpfs (as clamd's start-up advises) lowers the default with it; a total of one is shared.
    expect(loadConfig({ env: { STRONGROOM_SCAN_STREAMS_PER_ORGANISATION: '1', STRONGROOM_SCAN_STREAMS_PER_ACCOUNT: '1', STRONGROOM_SCAN_STREAMS_TOTAL: '2' } }).scanJobsAtOnce).toBe(1);
    expect(loadConfig({ env: { STRONGROOM_SCAN_STREAMS_PER_ORGANISATION: '1', STRONGROOM_SCAN_STREAMS_PER_ACCOUNT: '1', STRONGROOM_SCAN_STREAMS_TOTAL: '1' } }).scanJobsAtOnce).toBe(1);
    expect(problems({ STRONGROOM_SCAN_STREAMS_PER_ORGANISATION: '1', STRONGROOM_SCAN_STREAMS_PER_ACCOUNT: '1', STRONGROOM_SCAN_STREAMS_TOTAL: '1', STRONGROOM_SCAN_JOBS_AT_ONCE: '2' }))
      .toEqual(['STRONGROOM_SCAN_JOBS_AT_ONCE: must not be more than STRONGROOM_SCAN_STREAMS_TOTAL (1)']);
    expect(problems({ STRONGROOM_SCAN_JOBS_AT_ONCE: '0' })).toEqual(['STRONGROOM_SCAN_JOBS_AT_ONCE: must be more than 0']);
    expect(loadConfig({ env: { STRONGROOM_SCAN_JOBS_AT_ONCE: '1' } }).scanJobsAtOnce).toBe(1);
    expect(problems({ STRONGROOM_UPLOAD_IDLE_SECONDS: '0', STRONGROOM_UPLOAD_MIN_BYTES_PER_SECOND: '-1' })).toHaveLength(2);
    expect(loadConfig({ env: { STRONGROOM_UPLOAD_MIN_BYTES_PER_SECOND: '0' } }).uploadMinBytesPerSecond).toBe(0);
    expect(problems({ STRONGROOM_UPLOAD_IDLE_SECONDS: '60', STRONGROOM_CONNECTION_IDLE_SECONDS: '69' })).toEqual([
      'STRONGROOM_CONNECTION_IDLE_SECONDS: must be at least STRONGROOM_UPLOAD_IDLE_SECONDS + 10 (70), so a stalled request body is answered before its connection is closed',
    ]);
    expect(loadConfig({ env: { STRONGROOM_UPLOAD_IDLE_SECONDS: '60', STRONGROOM_CONNECTION_IDLE_SECONDS: '70' } }).connectionIdleSeconds).toBe(70);
    expect(loadConfig({ env: { STRONGROOM_UPLOAD_IDLE_SECONDS: '300' } }).connectionIdleSeconds).toBe(310);
  });

  it('bounds what one scan may spool: 128 MiB whole, 1 MiB overlap by default; refuses a limit clamd could not honour', () => {
    expect(loadConfig({ env: {} })).toMatchObject({ scanWholeMaxBytes: 128 * 1024 * 1024, scanSegmentOverlapBytes: 1024 * 1024 });
    const problems = (env: Record<string, string>): string[] => {
      try {
        loadConfig({ env });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    const whole = 'STRONGROOM_SCAN_WHOLE_MAX_BYTES: must be from 1 MiB to 1023 MiB (our clamd may unpack twice this from one stream, and clamd cannot scan past 2 GiB)';
    expect(problems({ STRONGROOM_SCAN_WHOLE_MAX_BYTES: String(1024 * 1024 * 1024) })).toEqual([whole]);
    expect(problems({ STRONGROOM_SCAN_WHOLE_MAX_BYTES: String(1024 * 1024 - 1) })).toEqual([whole]);
    expect(problems({ STRONGROOM_SCAN_WHOLE_MAX_BYTES: 'lots' })).toEqual(['STRONGROOM_SCAN_WHOLE_MAX_BYTES: must be a number of bytes']);
    expect(problems({ STRONGROOM_SCAN_WHOLE_MAX_BYTES: String(4 * 1024 * 1024), STRONGROOM_SCAN_SEGMENT_OVERLAP_BYTES: String(1024 * 1024 + 1) })).toEqual([
      'STRONGROOM_SCAN_SEGMENT_OVERLAP_BYTES: must be from 4 KiB to a quarter of STRONGROOM_SCAN_WHOLE_MAX_BYTES (1048576 bytes)',
    ]);
    expect(problems({ STRONGROOM_SCAN_SEGMENT_OVERLAP_BYTES: '4095' })).toHaveLength(1);
    expect(loadConfig({ env: { STRONGROOM_SCAN_WHOLE_MAX_BYTES: String(1023 * 1024 * 1024), STRONGROOM_SCAN_SEGMENT_OVERLAP_BYTES: '4096' } }).scanWholeMaxBytes).toBe(1023 * 1024 * 1024);
  });
});

describe('listenProblems', () => {
  it('allows loopback without TLS', () => {
    expect(listenProblems(loadConfig({ env: {} }))).toEqual([]);
  });

  it('refuses a public address without TLS or a trusted proxy', () => {
    expect(listenProblems(loadConfig({ env: { STRONGROOM_HOST: '0.0.0.0' } }))[0]).toMatch(/without TLS/);
  });

  it('accepts a public address with TLS, or behind a TLS-terminating proxy', () => {
    expect(listenProblems(loadConfig({ env: { STRONGROOM_HOST: '0.0.0.0', STRONGROOM_TLS_CERT: 'c', STRONGROOM_TLS_KEY: 'k' } }))).toEqual([]);
    expect(listenProblems(loadConfig({ env: { STRONGROOM_HOST: '0.0.0.0' }, flags: { trustProxy: true } }))).toEqual([]);
  });
});

describe('STRONGROOM_TRUST_PROXY', () => {
  it('never trusts every hop: 1 and true (which once did) mean one proxy in front', () => {
    for (const value of ['1', 'true', 'TRUE', ' 1 ']) expect(loadConfig({ env: { STRONGROOM_TRUST_PROXY: value } }).trustProxy).toEqual({ hops: 1 });
    expect(loadConfig({ env: {}, flags: { trustProxy: true } }).trustProxy).toEqual({ hops: 1 });
  });

  it('trusts nobody when unset, empty, 0 or false', () => {
    for (const value of [undefined, '', '0', 'false']) expect(parseTrustProxy(value)).toEqual({ setting: null, problems: [] });
  });

  it('takes a count of proxies in a row, or their addresses and ranges; the flag wins over the environment', () => {
    expect(parseTrustProxy('2')).toEqual({ setting: { hops: 2 }, problems: [] });
    expect(parseTrustProxy('127.0.0.1, 10.0.0.0/24,2001:db8::/32,loopback')).toEqual({ setting: { addresses: ['127.0.0.1', '10.0.0.0/24', '2001:db8::/32', 'loopback'] }, problems: [] });
    expect(loadConfig({ env: { STRONGROOM_TRUST_PROXY: '1' }, flags: { trustProxy: '10.1.2.3' } }).trustProxy).toEqual({ addresses: ['10.1.2.3'] });
  });

  it('lists what it cannot use instead of guessing', () => {
    expect(() => loadConfig({ env: { STRONGROOM_TRUST_PROXY: 'yes' } })).toThrow(/STRONGROOM_TRUST_PROXY \(--trust-proxy\): yes: not an IP address or CIDR range/);
    expect(parseTrustProxy('10.0.0.0/33,nginx').problems).toEqual(['10.0.0.0/33, nginx: not an IP address or CIDR range; give how many proxies are in front (e.g. 1), or their addresses (e.g. 127.0.0.1,10.0.0.0/24)']);
    expect(parseTrustProxy('11').problems).toHaveLength(1);
  });
});
