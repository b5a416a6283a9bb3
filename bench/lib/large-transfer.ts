// Large transfers through curl, the same client for every server. Until 3 December they ran in the
// benchmark's own Node process, which holds the small files, the random base and what earlier phases
// left on its heap: receiving 1 GiB there cost it 4.2-4.7 CPU-seconds (from Apache, rclone and
// Strongroom alike), so on two cores the client took most of a core from the server it measured and
// every server's large GET ran near the client's pace (about 300 MB/s). curl receives 1 GiB here on
// 0.4-0.5 CPU-seconds. An upload's body is written to a file in memory (/dev/shm) first, outside the
// timing and the client's CPU; a download that is checked is kept there and hashed afterwards. The
// client's CPU is curl's own, read with the shell's `times` once it has exited, and counted by cpu.ts
// clientCpu.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { trackDir, untrackDir } from './cleanup.js';
import { addClientChildCpu, excludeFromClientCpu } from './cpu.js';
import { largeFile } from './data.js';
import type { HttpResult } from './http.js';

export interface TransferJob {
  baseUrl: URL;
  method: 'GET' | 'PUT' | 'POST';
  path: string;
  headers: Record<string, string | number>;
  /** A download only: keep the body (in memory, /dev/shm) and hash it once received, rather than only count it. */
  sha256?: boolean;
  timeoutMs: number;
  /** An upload only: its size; the body is `largeFile(bodyBytes, base)`. */
  bodyBytes?: number;
}

const MARK = '@@strongroom-bench';

/** A folder in memory for upload bodies when there is one (a 1 GiB body is written there and removed after). */
const scratchRoot = (): string => (process.platform === 'linux' ? '/dev/shm' : tmpdir());

/** The children's user and system seconds from the second line of bash's `times`. */
function childrenCpu(timesOutput: string): number {
  const lines = timesOutput.trim().split('\n');
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '');
  if (!m) throw new Error(`could not read the client's CPU from: ${timesOutput}`);
  return Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
}

async function writeBody(file: string, bytes: number, base: Buffer): Promise<void> {
  const out = createWriteStream(file);
  for (const chunk of largeFile(bytes, base)) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

async function sha256Of(file: string): Promise<string> {
  const child = spawn('openssl', ['dgst', '-sha256', '-r', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const out: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  const [code] = (await once(child, 'close')) as [number | null];
  const hex = /^([0-9a-f]{64})\s/.exec(Buffer.concat(out).toString('utf8'))?.[1];
  if (code !== 0 || !hex) throw new Error(`openssl dgst ${file} exited with ${code}`);
  return hex;
}

/** Runs one large transfer through curl; resolves with curl's own seconds for it and the response. */
export async function transfer(job: TransferJob, base?: Buffer): Promise<{ seconds: number; value: HttpResult }> {
  const dir = await mkdtemp(path.join(scratchRoot(), 'srb-transfer-'));
  trackDir(dir);
  try {
    const args = ['-sS', '-X', job.method, '--max-time', String(Math.ceil(job.timeoutMs / 1000)), '--noproxy', '*',
      '-w', `%{stderr}${MARK} %{http_code} %{size_download} %{time_total}\\n`];
    // From a file, not the command line, where any process could read the credentials in them.
    const headersFile = path.join(dir, 'headers');
    await writeFile(headersFile, Object.entries(job.headers).map(([name, value]) => `${name}: ${value}\n`).join(''), { mode: 0o600 });
    args.push('-H', `@${headersFile}`);
    const responseFile = path.join(dir, 'response');
    const downloadFile = path.join(dir, 'download');
    if (job.bodyBytes !== undefined) {
      if (!base) throw new Error('an upload needs the base its body is made from');
      const bodyFile = path.join(dir, 'body');
      const before = process.cpuUsage();
      await writeBody(bodyFile, job.bodyBytes, base);
      const spent = process.cpuUsage(before);
      excludeFromClientCpu((spent.user + spent.system) / 1e6);
      // No `Expect: 100-continue` round trip before the body (curl's default for a large upload).
      args.push('-T', bodyFile, '-o', responseFile, '-H', 'Expect:');
    } else {
      args.push('-o', job.sha256 ? downloadFile : '/dev/null');
    }
    args.push(new URL(job.path, job.baseUrl).href);
    const child = spawn('bash', ['-c', 'curl "$@"; s=$?; times; exit $s', 'bash', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const [code] = (await once(child, 'close')) as [number | null];
    const stdout = Buffer.concat(out).toString('utf8');
    const stderr = Buffer.concat(err).toString('utf8');
    const written = new RegExp(`^${MARK} (\\d+) (\\d+) ([\\d.]+)$`, 'm').exec(stderr);
    if (!written || code !== 0) throw new Error(`curl ${job.method} ${job.path} exited with ${code}: ${stderr.slice(0, 500)}`);
    addClientChildCpu(childrenCpu(stdout));
    // Hashed after the transfer, so neither its time nor the client's CPU includes checking it: hashed
    // as it arrived, through a pipe, it cost 2.5 CPU-seconds a GiB here (the pipe alone 1.5, and
    // coreutils' sha256sum runs at 170 MB/s on this machine, so openssl does it).
    const sha256 = job.sha256 ? await sha256Of(downloadFile) : undefined;
    const body = job.bodyBytes !== undefined ? await readFile(responseFile).catch(() => Buffer.alloc(0)) : Buffer.alloc(0);
    return {
      seconds: Number(written[3]),
      value: { status: Number(written[1]), headers: {}, bytes: Number(written[2]), body, ...(sha256 ? { sha256 } : {}) },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
    untrackDir(dir);
  }
}
