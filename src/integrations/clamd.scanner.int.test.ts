// ClamdScanner against a real clamd started by ClamdSupervisor with our shipped signatures.
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killClamd, startClamd, startTestClamd, stopClamd, type TestClamd } from '../../test/support/clamd.js';
import { docx, eicar, pdf, pseudoRandomBytes, strongroomTestSample, zipOf } from '../../test/support/samples.js';
import { SCAN_LIMITS_EXCEEDED, SCAN_TOO_LARGE } from './clamd.scanner.js';

const EICAR_SIGNATURE = 'Strongroom.Test.EICAR.UNOFFICIAL';

/** A stream of `total` bytes in `chunk`-sized pieces, produced lazily. */
function generated(total: number, chunk = 64 * 1024, seed = 1): Readable {
  const block = pseudoRandomBytes(chunk, seed);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(chunk, total - sent);
      sent += n;
      this.push(block.subarray(0, n));
    },
  });
}

let clamd: TestClamd;
beforeAll(async () => {
  clamd = await startTestClamd();
});
afterAll(async () => {
  await clamd?.stop();
});

describe('ClamdScanner with a real clamd', () => {
  it('finds clean data clean', async () => {
    const verdict = await clamd.scanner().scan(generated(5 * 1024 * 1024));
    expect(verdict).toMatchObject({ outcome: 'clean', engine: expect.stringMatching(/^ClamAV \d+\.\d+/) });
    expect(await clamd.scanner().scan(Readable.from([pdf()]))).toMatchObject({ outcome: 'clean' });
    expect(await clamd.scanner().scan(Readable.from([docx()]))).toMatchObject({ outcome: 'clean' });
  });

  it('detects EICAR with our signature name', async () => {
    const verdict = await clamd.scanner().scan(Readable.from([eicar()]));
    expect(verdict).toEqual({ outcome: 'infected', signature: EICAR_SIGNATURE, engine: expect.stringContaining('ClamAV') });
  });

  it('detects EICAR split into one-byte chunks (framing is right)', async () => {
    const bytes = [...eicar()].map((b) => Buffer.from([b]));
    expect(await clamd.scanner().scan(Readable.from(bytes))).toMatchObject({ outcome: 'infected', signature: EICAR_SIGNATURE });
  });

  it('detects EICAR buried in the middle of a large file', async () => {
    const stream = Readable.from([pseudoRandomBytes(3_000_000, 7), eicar(), pseudoRandomBytes(3_000_000, 8)]);
    expect(await clamd.scanner().scan(stream)).toMatchObject({ outcome: 'infected', signature: EICAR_SIGNATURE });
  });

  it('detects the Strongroom.Test.Sample marker', async () => {
    expect(await clamd.scanner().scan(Readable.from([strongroomTestSample()]))).toMatchObject({
      outcome: 'infected',
      signature: 'Strongroom.Test.Sample.UNOFFICIAL',
    });
  });

  it('detects EICAR inside a zip, a zip in a zip, and a zip in a zip in a zip', async () => {
    const one = zipOf([{ name: 'readme.txt', data: 'hello' }, { name: 'eicar.com.txt', data: eicar() }]);
    const two = zipOf([{ name: 'inner.zip', data: one, method: 'store' }]);
    const three = zipOf([{ name: 'deeper/inner2.zip', data: two }]);
    for (const archive of [one, two, three]) {
      expect(await clamd.scanner().scan(Readable.from([archive]))).toMatchObject({ outcome: 'infected', signature: EICAR_SIGNATURE });
    }
  });

  it('refuses data beyond maxStreamBytes as unavailable, never clean, while a tee keeps flowing', async () => {
    const scanner = clamd.scanner({ maxStreamBytes: 2 * 1024 * 1024 });
    // The upload pipeline's shape: one source, teed to a hash (standing in for the blob store) and the scanner.
    const source = generated(24 * 1024 * 1024);
    const toScanner = new PassThrough();
    const toStore = new PassThrough();
    source.on('data', (chunk: Buffer) => {
      const a = toScanner.write(chunk);
      const b = toStore.write(chunk);
      if (!a || !b) {
        source.pause();
        let waiting = (a ? 0 : 1) + (b ? 0 : 1);
        const resume = (): void => void (--waiting === 0 && source.resume());
        if (!a) toScanner.once('drain', resume);
        if (!b) toStore.once('drain', resume);
      }
    });
    source.on('end', () => {
      toScanner.end();
      toStore.end();
    });
    const hash = createHash('sha256');
    const [verdict] = await Promise.all([scanner.scan(toScanner), pipeline(toStore, hash)]);
    expect(verdict).toEqual({ outcome: 'unavailable', reason: SCAN_TOO_LARGE, beyondLimits: true });
    expect(hash.digest('hex')).toHaveLength(64); // the store side received everything
  });
});

describe('clamd with small limits', () => {
  let small: TestClamd;
  beforeAll(async () => {
    small = await startTestClamd({ maxStreamBytes: 1024 * 1024, maxScanBytes: 1024 * 1024 });
  });
  afterAll(async () => {
    await small?.stop();
  });

  it('is unavailable when clamd itself cuts the stream (scanner limit set higher than StreamMaxLength)', async () => {
    const scanner = small.scanner({ maxStreamBytes: 64 * 1024 * 1024 });
    const verdict = await scanner.scan(generated(16 * 1024 * 1024));
    // clamd answers "INSTREAM size limit exceeded" and closes with our data still unread, so the
    // kernel may reset the connection before the answer reaches us: either way, never clean.
    expect(verdict).toMatchObject({ outcome: 'unavailable', reason: expect.stringMatching(/too large for scanner|EPIPE|ECONNRESET|closed/) });
  });

  it('treats a file inside a zip that exceeds clamd\'s limits as unavailable, not clean', async () => {
    // 4 MiB of zeros packs into a few KB: within StreamMaxLength, beyond MaxFileSize once unpacked.
    // clamd alone would scan the first MiB and say OK; MaxFileSize = MaxScanSize makes it say so.
    const archive = zipOf([{ name: 'big.bin', data: Buffer.alloc(4 * 1024 * 1024) }]);
    expect(archive.length).toBeLessThan(1024 * 1024);
    const verdict = await small.scanner().scan(Readable.from([archive]));
    expect(verdict).toMatchObject({ outcome: 'unavailable', reason: expect.stringContaining(SCAN_LIMITS_EXCEEDED), beyondLimits: true });
  });
});

describe('when clamd is not there', () => {
  it('is unavailable quickly when clamd is stopped, and recovers when it starts again', async () => {
    await stopClamd(clamd);
    try {
      const scanner = clamd.scanner();
      const started = Date.now();
      const verdict = await scanner.scan(Readable.from([eicar()]));
      expect(verdict).toMatchObject({ outcome: 'unavailable', reason: expect.stringContaining('clamd unreachable') });
      expect(Date.now() - started).toBeLessThan(1000);
      expect(await scanner.ping()).toBe(false);
    } finally {
      await startClamd(clamd);
    }
    expect(await clamd.scanner().scan(Readable.from([eicar()]))).toMatchObject({ outcome: 'infected' });
  });

  it('is unavailable when clamd dies mid-stream, and works again once the supervisor has restarted it', async () => {
    const scanner = clamd.scanner();
    let killed = false;
    const source = new Readable({
      read() {
        setTimeout(() => {
          if (!killed) {
            killed = true;
            killClamd(clamd);
          }
          this.push(pseudoRandomBytes(64 * 1024));
        }, 5);
      },
    });
    const verdict = await scanner.scan(source);
    source.destroy();
    expect(verdict.outcome).toBe('unavailable');
    await clamd.supervisor.whenReady(20_000);
    expect(await clamd.scanner().scan(Readable.from([eicar()]))).toMatchObject({ outcome: 'infected' });
  });
});

describe('version and ping', () => {
  it('reports the engine version with our signatures digest, and answers PING', async () => {
    const scanner = clamd.scanner();
    expect(await scanner.version()).toMatch(/^ClamAV \d+\.\d+\.\d+.*\/strongroom-[0-9a-f]{12}$/);
    expect(await scanner.ping()).toBe(true);
  });
});

describe('kept sessions (IDSESSION) with a real clamd', () => {
  it('judges small files over a kept session as over a connection each, and longer ones over their own', async () => {
    const scanner = clamd.scanner({ keptSessions: {} });
    try {
      for (let round = 0; round < 3; round++) {
        expect(await scanner.scan(Readable.from([pdf()]))).toMatchObject({ outcome: 'clean', engine: expect.stringMatching(/^ClamAV \d+\.\d+/) });
        expect(await scanner.scan(Readable.from([eicar()]))).toEqual({ outcome: 'infected', signature: EICAR_SIGNATURE, engine: expect.stringContaining('ClamAV') });
        expect(await scanner.scan(Readable.from([strongroomTestSample()]))).toMatchObject({ outcome: 'infected', signature: 'Strongroom.Test.Sample.UNOFFICIAL' });
        expect(await scanner.scan(Readable.from([]))).toMatchObject({ outcome: 'clean' });
      }
      // Past the kept-session limit (a megabyte): EICAR at the end of 3 MB is still found.
      expect(await scanner.scan(Readable.from([pseudoRandomBytes(3_000_000, 9), eicar()]))).toMatchObject({ outcome: 'infected', signature: EICAR_SIGNATURE });
      expect(await scanner.scan(Readable.from([eicar()]))).toMatchObject({ outcome: 'infected' });
    } finally {
      scanner.close();
    }
  });

  it('finds a file clean or infected after clamd was restarted under its kept session', async () => {
    const scanner = clamd.scanner({ keptSessions: {} });
    try {
      expect(await scanner.scan(Readable.from([pdf()]))).toMatchObject({ outcome: 'clean' });
      killClamd(clamd);
      await clamd.supervisor.whenReady(20_000);
      expect(await scanner.scan(Readable.from([eicar()]))).toMatchObject({ outcome: 'infected', signature: EICAR_SIGNATURE });
      await stopClamd(clamd);
      expect(await scanner.scan(Readable.from([pdf()]))).toMatchObject({ outcome: 'unavailable', reason: expect.stringContaining('clamd unreachable') });
    } finally {
      await startClamd(clamd);
      scanner.close();
    }
    expect(await scanner.scan(Readable.from([eicar()]))).toMatchObject({ outcome: 'infected' });
    scanner.close();
  });
});
