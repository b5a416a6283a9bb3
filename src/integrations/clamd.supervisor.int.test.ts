// ClamdSupervisor with the real /usr/sbin/clamd: config, private tmpfs scratch space, restarts
// after a crash, clean stops, running as another user, and clear failures.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killClamd, startTestClamd, type TestClamd } from '../../test/support/clamd.js';
import { eicar } from '../../test/support/samples.js';
import { ClamdScanner } from './clamd.scanner.js';
import { ClamdSupervisor, tmpfsShortfall, type ServiceLogger } from './clamd.supervisor.js';

function recordingLogger(): ServiceLogger & { lines: string[] } {
  const lines: string[] = [];
  const log = (obj: object, msg?: string): void => void lines.push(`${msg ?? ''} ${JSON.stringify(obj)}`);
  return { lines, info: log, warn: log, error: log };
}

const processGone = (pid: number): boolean => !existsSync(`/proc/${pid}`);
const isRoot = process.getuid?.() === 0;

describe('ClamdSupervisor', () => {
  let clamd: TestClamd;
  const logger = recordingLogger();
  beforeAll(async () => {
    clamd = await startTestClamd({ logger });
  });
  afterAll(async () => {
    await clamd?.stop();
  });

  it('writes its own clamd.conf, installs our signatures and keeps scratch files on private tmpfs', async () => {
    const conf = readFileSync(clamd.supervisor.configPath, 'utf8');
    const setting = (key: string): string | undefined => new RegExp(`^${key} (.+)$`, 'm').exec(conf)?.[1];
    expect(setting('Foreground')).toBe('yes');
    expect(setting('LocalSocket')).toBe(clamd.socketPath);
    expect(setting('DatabaseDirectory')).toBe(path.join(clamd.stateDir, 'db'));
    expect(setting('AlertExceedsMax')).toBe('yes');
    expect(setting('AlertEncryptedArchive')).toBe('yes');
    expect(setting('AlertEncrypted')).toBeUndefined();
    expect(setting('ScanArchive')).toBe('yes');
    expect(setting('StreamMaxLength')).toBe(String(clamd.supervisor.maxStreamBytes));
    expect(setting('MaxFileSize')).toBe(setting('MaxScanSize'));
    expect(await readdir(path.join(clamd.stateDir, 'db'))).toEqual(['strongroom.ndb']);

    const scratch = setting('TemporaryDirectory') as string;
    expect(scratch.startsWith('/dev/shm/strongroom-clamd-')).toBe(true);
    expect((await stat(scratch)).mode & 0o777).toBe(0o700);
    expect((await stat(clamd.socketPath)).mode & 0o777).toBe(0o600);
  });

  it('restarts clamd after it is killed, and scans work again', async () => {
    const before = killClamd(clamd);
    await expect.poll(() => processGone(before), { timeout: 5000 }).toBe(true);
    const started = Date.now();
    await clamd.supervisor.whenReady(20_000);
    expect(clamd.supervisor.pid).not.toBe(before);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await clamd.scanner().scan(Readable.from([eicar()]))).toMatchObject({ outcome: 'infected' });
    expect(logger.lines.some((l) => l.includes('clamd died; restarting'))).toBe(true);
  });
});

describe('ClamdSupervisor scratch space', () => {
  it('leaves no plaintext in TemporaryDirectory after clamd is killed mid-INSTREAM and restarted', { timeout: 60_000 }, async () => {
    const clamd = await startTestClamd();
    try {
      const scratch = /^TemporaryDirectory (.+)$/m.exec(readFileSync(clamd.supervisor.configPath, 'utf8'))?.[1] as string;
      const canary = Buffer.from(`plaintext canary ${Math.random().toString(16).slice(2)} of a council payroll file`);
      // A stream that sends the canary and then stalls, so clamd holds it in a spool file.
      const feed = new Readable({ read() {} });
      feed.push(Buffer.concat([canary, Buffer.alloc(64 * 1024, 0x20)]));
      const scan = clamd.scanner({ idleTimeoutMs: 30_000 }).scan(feed);
      const spooled = async (): Promise<boolean> => {
        for (const name of await readdir(scratch).catch(() => [] as string[])) {
          const bytes = await readFile(path.join(scratch, name)).catch(() => Buffer.alloc(0));
          if (bytes.includes(canary)) return true;
        }
        return false;
      };
      await expect.poll(spooled, { timeout: 10_000, interval: 50 }).toBe(true);

      const before = killClamd(clamd);
      await expect.poll(() => processGone(before), { timeout: 5000 }).toBe(true);
      expect((await scan).outcome).toBe('unavailable');
      feed.destroy();
      await clamd.supervisor.whenReady(20_000);
      expect(clamd.supervisor.pid).not.toBe(before);
      expect(await spooled()).toBe(false);
      expect(await clamd.scanner().scan(Readable.from([eicar()]))).toMatchObject({ outcome: 'infected' });
    } finally {
      await clamd.stop();
    }
  });
});

describe('ClamdSupervisor lifecycle', () => {
  it('stop() ends clamd and removes its scratch directory; start() again works', async () => {
    const clamd = await startTestClamd();
    try {
      const pid = clamd.supervisor.pid as number;
      const scratch = /^TemporaryDirectory (.+)$/m.exec(readFileSync(clamd.supervisor.configPath, 'utf8'))?.[1] as string;
      await clamd.supervisor.stop();
      expect(processGone(pid)).toBe(true);
      expect(existsSync(scratch)).toBe(false);
      expect(await new ClamdScanner({ socketPath: clamd.socketPath }).ping()).toBe(false);
      await clamd.supervisor.stop(); // twice is fine

      await clamd.supervisor.start();
      expect(await clamd.scanner().ping()).toBe(true);
    } finally {
      await clamd.stop();
    }
  });

  it('falls back to the state directory, with a warning, when there is no tmpfs', async () => {
    const logger = recordingLogger();
    const clamd = await startTestClamd({ tmpfsDir: '/nonexistent-tmpfs', logger });
    try {
      const scratch = /^TemporaryDirectory (.+)$/m.exec(readFileSync(clamd.supervisor.configPath, 'utf8'))?.[1] as string;
      expect(scratch.startsWith(clamd.stateDir)).toBe(true);
      expect(logger.lines.some((l) => l.includes('no tmpfs'))).toBe(true);
      expect(await clamd.scanner().scan(Readable.from([eicar()]))).toMatchObject({ outcome: 'infected' });
    } finally {
      await clamd.stop();
    }
  });

  it('uses official databases only when asked, and copes with there being none', async () => {
    const logger = recordingLogger();
    const empty = await mkdtemp(path.join(tmpdir(), 'sr-cvd-'));
    const clamd = await startTestClamd({ officialDatabaseDir: empty, logger });
    try {
      expect(logger.lines.some((l) => l.includes('no official ClamAV databases'))).toBe(true);
      expect(await clamd.scanner().scan(Readable.from([eicar()]))).toMatchObject({ outcome: 'infected' });
    } finally {
      await clamd.stop();
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('reloads changed signatures on request, and the scanner version changes with them', async () => {
    const signaturesDir = await mkdtemp(path.join(tmpdir(), 'sr-sigs-'));
    const shipped = readFileSync(new URL('../../assets/clamav/strongroom.ndb', import.meta.url), 'utf8');
    await writeFile(path.join(signaturesDir, 'strongroom.ndb'), shipped);
    const clamd = await startTestClamd({ signaturesDir });
    try {
      const scanner = clamd.scanner();
      const marker = Buffer.from('a brand new test marker 4242');
      const versionBefore = await scanner.version();
      expect(await scanner.scan(Readable.from([marker]))).toMatchObject({ outcome: 'clean' });

      await writeFile(path.join(signaturesDir, 'strongroom.ndb'), `${shipped.trimEnd()}\nStrongroom.Test.New:0:*:${marker.toString('hex')}\n`);
      await clamd.supervisor.reloadDatabases();
      await expect
        .poll(async () => (await scanner.scan(Readable.from([marker]))).outcome, { timeout: 10_000, interval: 200 })
        .toBe('infected');
      expect(await scanner.version()).not.toBe(versionBefore);
    } finally {
      await clamd.stop();
      await rm(signaturesDir, { recursive: true, force: true });
    }
  });

  it.runIf(isRoot)('runs clamd as another user when we are root', async () => {
    const nobody = { uid: 65534, gid: 65534 };
    const clamd = await startTestClamd({ runAs: nobody });
    try {
      const status = readFileSync(`/proc/${clamd.supervisor.pid}/status`, 'utf8');
      expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe('65534');
      expect(await clamd.scanner().scan(Readable.from([eicar()]))).toMatchObject({ outcome: 'infected' });
    } finally {
      await clamd.stop();
    }
  });

  it('fails clearly when clamd cannot start', async () => {
    const stateDir = await mkdtemp(path.join(tmpdir(), 'sr-clamd-'));
    try {
      await expect(new ClamdSupervisor({ stateDir, clamdPath: '/nonexistent/clamd', startTimeoutMs: 5000 }).start()).rejects.toThrow(/clamd exited during start-up/);
      const noSignatures = path.join(stateDir, 'nosigs');
      await mkdir(noSignatures);
      await expect(new ClamdSupervisor({ stateDir, signaturesDir: noSignatures }).start()).rejects.toThrow(/no signature databases/);
      // A broken signature file makes clamd itself exit; its log explains why.
      const broken = path.join(stateDir, 'broken');
      await mkdir(broken);
      await writeFile(path.join(broken, 'bad.ndb'), 'not a signature\n');
      if (isRoot) await chown(broken, 0, 0);
      await expect(new ClamdSupervisor({ stateDir, signaturesDir: broken, startTimeoutMs: 20_000 }).start()).rejects.toThrow(/clamd exited during start-up[\s\S]*bad\.ndb|Malformed/i);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it('refuses to start when its tmpfs cannot hold one maximum-size scan, and warns when it cannot hold as many as it may be sent at once', async () => {
    const MIB = 1024 * 1024;
    expect(tmpfsShortfall('/dev/shm/x', 1000 * MIB, 4, 256 * MIB)).toBe(
      "clamd's scratch space /dev/shm/x has 1000 MiB free, but 4 scans at once may spool up to 256 MiB each (1024 MiB): "
        + 'enlarge the tmpfs, or lower STRONGROOM_SCAN_STREAMS_TOTAL or STRONGROOM_SCAN_WHOLE_MAX_BYTES',
    );
    expect(tmpfsShortfall('/dev/shm/x', 1024 * MIB, 4, 256 * MIB)).toBeNull();

    const fs = await statfs('/dev/shm');
    const free = fs.bavail * fs.bsize;
    const stateDir = await mkdtemp(path.join(tmpdir(), 'sr-clamd-'));
    // A 16 MiB tmpfs of its own (root, as CI runs; the disk-full suite does the same): one 32 MiB scan cannot fit.
    const small = await mkdtemp(path.join(tmpdir(), 'sr-small-shm-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', small]);
    try {
      const tooBig = new ClamdSupervisor({ stateDir, tmpfsDir: small, maxStreamBytes: 4 * MIB, maxScanBytes: 32 * MIB, concurrentStreams: 1 });
      const refusal = await tooBig.start().then(() => null, (error: Error) => error.message);
      expect(refusal).toMatch(new RegExp(`^clamd's scratch space ${small}/strongroom-clamd-\\w+ has 16 MiB free, but 1 scans at once may spool up to 32 MiB each \\(32 MiB\\)`));
      expect(tooBig.pid).toBeUndefined();
      // Nothing left behind: neither the scratch directory it made to measure nor its record.
      expect(readdirSync(small)).toEqual([]);
      expect(existsSync(path.join(stateDir, 'tmpdir'))).toBe(false);

      const warnings: string[] = [];
      const logger: ServiceLogger = { info() {}, error() {}, warn(_: object, message?: string) { warnings.push(message ?? ''); } };
      const streams = Math.ceil(free / (8 * MIB)) + 100; // more 8 MiB scans than fit
      const many = new ClamdSupervisor({ stateDir, maxStreamBytes: 4 * MIB, maxScanBytes: 8 * MIB, concurrentStreams: streams, startTimeoutMs: 60_000, logger });
      await many.start();
      await many.stop();
      expect(warnings.some((w) => new RegExp(`^clamd's scratch space \\S+ has \\d+ MiB free, but ${streams} scans at once may spool up to 8 MiB each`).test(w))).toBe(true);
      const fits = new ClamdSupervisor({ stateDir, maxStreamBytes: 4 * MIB, maxScanBytes: 8 * MIB, concurrentStreams: 2, startTimeoutMs: 60_000 });
      await fits.start();
      try {
        expect(/^MaxScanSize (\d+)$/m.exec(readFileSync(fits.configPath, 'utf8'))?.[1]).toBe(String(8 * MIB));
        expect(/^StreamMaxLength (\d+)$/m.exec(readFileSync(fits.configPath, 'utf8'))?.[1]).toBe(String(4 * MIB));
      } finally {
        await fits.stop();
      }
    } finally {
      execFileSync('umount', [small]);
      await rm(small, { recursive: true, force: true });
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it('refuses limits clamd cannot honour, and socket paths too long for Unix sockets', () => {
    expect(() => new ClamdSupervisor({ stateDir: '/tmp/x', maxStreamBytes: 3 * 1024 ** 3 })).toThrow(RangeError);
    expect(() => new ClamdSupervisor({ stateDir: '/tmp/x', maxStreamBytes: 10 * 1024 ** 2, maxScanBytes: 1024 ** 2 })).toThrow(RangeError);
    expect(() => new ClamdSupervisor({ stateDir: `/tmp/${'d'.repeat(120)}` })).toThrow(/socket path/);
    // Readable before start(), for the scanner's versionSuffix.
    expect(new ClamdSupervisor({ stateDir: '/tmp/x' }).signaturesVersion).toMatch(/^strongroom-[0-9a-f]{12}$/);
  });
});
