// Ceilings measured on the same machine in the same run: durable sequential write (dd with
// fdatasync), one core's AES-256-GCM and SHA-256 (openssl speed), and clamd's own INSTREAM rate.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ClamdScanner } from '../../src/integrations/clamd.scanner.js';
import { chunksOf, MiB } from './data.js';
import { trackPid, untrackPid } from './cleanup.js';

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackPid(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      untrackPid(child.pid);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      untrackPid(child.pid);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code === 0) resolve({ stdout, stderr, seconds });
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.slice(-500)}`));
    });
  });
}

/**
 * dd if=/dev/zero of=DIR/ddtest bs=1M count=1024 conv=fdatasync; MB/s (10^6 bytes) from dd's own bytes
 * and seconds, and dd's CPU seconds (user + system, from the shell's `time`). The system time says what
 * memory the page cache was given: on this kind of VM a page the host has not yet backed costs about
 * 1.8 CPU-seconds a GiB to write into, one it has about 0.2 (docs/performance.md "A large upload's
 * flush, overlapped"), and a dd that got the cheap pages is not comparable with an upload that did not.
 */
export async function ddWrite(dir: string): Promise<{ mbPerSec: number; seconds: number; cpuSeconds: number; line: string }> {
  const file = path.join(dir, 'ddtest');
  try {
    const script = 'TIMEFORMAT="cpu %U %S"; time dd if=/dev/zero of="$1" bs=1M count=1024 conv=fdatasync';
    const { stderr } = await run('bash', ['-c', script, 'dd', file], 180_000);
    const lines = stderr.trim().split('\n');
    const cpu = /^cpu ([\d.]+) ([\d.]+)$/.exec(lines.pop() ?? '');
    const line = lines.pop() ?? '';
    const m = /^(\d+) bytes .* copied, ([\d.,]+) s/.exec(line);
    if (!m || !cpu) throw new Error(`cannot parse dd output: ${stderr}`);
    const seconds = Number((m[2] as string).replace(',', '.'));
    return { mbPerSec: Number(m[1]) / seconds / 1e6, seconds, cpuSeconds: Number(cpu[1]) + Number(cpu[2]), line };
  } finally {
    await rm(file, { force: true });
  }
}

/** `openssl speed -evp ALG -seconds 1`, the 16384-byte column, in MB/s (openssl reports 1000s of bytes/s). */
export async function opensslSpeed(alg: string): Promise<{ mbPerSec: number; line: string }> {
  const { stdout } = await run('openssl', ['speed', '-evp', alg, '-seconds', '1'], 120_000);
  const lines = stdout.split('\n');
  const header = lines.find((l) => /^type\s+/.test(l));
  const row = lines.find((l) => l.toLowerCase().startsWith(alg.toLowerCase()));
  if (!header || !row) throw new Error(`cannot parse openssl speed output: ${stdout.slice(-800)}`);
  const sizes = [...header.matchAll(/(\d+) bytes/g)].map((m) => Number(m[1]));
  const values = [...row.slice(alg.length).matchAll(/([\d.]+)k/g)].map((m) => Number(m[1]));
  const i = sizes.indexOf(16384);
  if (i < 0 || values[i] === undefined) throw new Error(`no 16384-byte column in: ${header} / ${row}`);
  return { mbPerSec: (values[i] as number) / 1000, line: row.trim() };
}

/**
 * clamd's INSTREAM rate on `data` (made before the clock starts), sent as consecutive streams of at
 * most `streamBytes`: the server's clamd accepts no longer stream (StreamMaxLength =
 * STRONGROOM_SCAN_WHOLE_MAX_BYTES), and the server scans large files the same way. What the bytes
 * are matters as much as how many: clamd reads a stream it takes for binary data twice (its
 * "Data scanned" is twice "Data read"), one it takes for text once, and fresh random bytes fall
 * either way from one stream to the next (docs/performance.md, "clamd's rate depends on the bytes").
 */
export async function clamdInstream(socketPath: string, data: Buffer, streamBytes = 128 * MiB): Promise<{ mbPerSec: number; seconds: number; verdict: string }> {
  const bytes = data.length;
  const scanner = new ClamdScanner({ socketPath, replyTimeoutMs: 300_000, maxStreamBytes: streamBytes });
  const started = process.hrtime.bigint();
  for (let at = 0; at < bytes; at += streamBytes) {
    const verdict = await scanner.scan(asAsync(chunksOf(data.subarray(at, Math.min(bytes, at + streamBytes)), MiB)));
    if (verdict.outcome !== 'clean') throw new Error(`clamd did not answer clean on benchmark data: ${JSON.stringify(verdict)}`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { mbPerSec: bytes / seconds / 1e6, seconds, verdict: 'clean' };
}

async function* asAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) yield item;
}

/**
 * Small durable commits per second: write 4 KiB and fdatasync, `count` times, in `dir`. Every
 * Strongroom upload and download commits at least once to SQLite (synchronous=FULL, so an fsync of
 * the WAL), and an upload also fsyncs its blob and the blob's directory, so this bounds the
 * small-file rates on this disk.
 */
export async function fsyncRate(dir: string, count = 500): Promise<{ perSec: number; meanMs: number }> {
  const { open } = await import('node:fs/promises');
  const file = path.join(dir, 'fsynctest');
  const handle = await open(file, 'w');
  const block = Buffer.alloc(4096, 7);
  try {
    const started = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      await handle.write(block, 0, block.length, i * block.length);
      await handle.datasync();
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { perSec: count / seconds, meanMs: (seconds / count) * 1000 };
  } finally {
    await handle.close();
    await rm(file, { force: true });
  }
}
