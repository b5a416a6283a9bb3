// The clamd.conf we render: one setting per line, the limits we pass, the choices that matter.
import { describe, expect, it } from 'vitest';
import { renderClamdConfig } from './clamd.config.js';

describe('renderClamdConfig', () => {
  it('renders one setting per line with the reasons as comments', () => {
    const conf = renderClamdConfig({
      socketPath: '/s/clamd.sock',
      databaseDir: '/s/db',
      temporaryDir: '/dev/shm/x',
      logFile: '/s/clamd.log',
      pidFile: '/s/clamd.pid',
      maxStreamBytes: 1000,
      maxScanBytes: 2000,
      maxThreads: 3,
      maxScanTimeMs: 5000,
      concurrentDatabaseReload: false,
    });
    expect(conf).toMatch(/^StreamMaxLength 1000$/m);
    expect(conf).toMatch(/^MaxFileSize 2000$/m);
    expect(conf).toMatch(/^MaxScanSize 2000$/m);
    expect(conf).toMatch(/^MaxThreads 3$/m);
    expect(conf).toMatch(/^AlertOLE2Macros no$/m);
    expect(conf).toMatch(/^ConcurrentDatabaseReload no$/m);
    expect(conf).not.toMatch(/^User /m);
    for (const line of conf.split('\n')) expect(line === '' || line.startsWith('#') || /^[A-Za-z0-9]+ \S/.test(line)).toBe(true);
  });
});
