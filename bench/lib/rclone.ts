// A throwaway `rclone serve webdav` over a `crypt` remote (Debian's rclone) on a loopback port: the
// encrypted-at-rest reference WebDAV server. Everything it uses lives in its own temporary
// directory: a generated config (passwords made here, stored obscured as rclone wants), the
// encrypted store, rclone's cache directory, an htpasswd file ({SHA}, as Apache's) and its log.
// rclone encrypts contents and names (NaCl secretbox, XSalsa20-Poly1305) but does not scan, audit or fsync.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './apache.js';
import { onCleanup, trackDir, trackPid, untrackDir, untrackPid } from './cleanup.js';
import { keepAliveAgent, request } from './http.js';
import { sleep } from './strongroom.js';

const run = promisify(execFile);

export interface RunningRclone {
  baseUrl: URL;
  davPath: string;
  authorization: string;
  dir: string;
  pid: number;
  /** First line of `rclone version`, e.g. "rclone v1.60.1-DEV". */
  version: string;
  stop(): Promise<void>;
}

/** The name of the crypt remote in the generated config. */
const REMOTE = 'vault';

export async function startRcloneCrypt(): Promise<RunningRclone> {
  const version = (await run('rclone', ['version'])).stdout.split('\n')[0]?.trim() ?? 'rclone';
  const dir = await mkdtemp(path.join(tmpdir(), 'srb-rclone-'));
  trackDir(dir);
  const store = path.join(dir, 'store');
  await mkdir(store);
  // The crypt remote's key and salt passwords: random per run, handed to the config obscured.
  // base64url can begin with '-', which rclone would read as a flag: '--' ends its options.
  const obscure = async (secret: string): Promise<string> => (await run('rclone', ['obscure', '--', secret])).stdout.trim();
  const config = path.join(dir, 'rclone.conf');
  await writeFile(config, [
    `[${REMOTE}]`,
    'type = crypt',
    `remote = ${store}`,
    `password = ${await obscure(randomBytes(24).toString('base64url'))}`,
    `password2 = ${await obscure(randomBytes(24).toString('base64url'))}`,
    '',
  ].join('\n'), { mode: 0o600 });
  const user = 'bench';
  const password = randomBytes(18).toString('base64url');
  const htpasswd = path.join(dir, 'htpasswd');
  await writeFile(htpasswd, `${user}:{SHA}${createHash('sha1').update(password).digest('base64')}\n`, { mode: 0o600 });
  const port = await freePort();
  const logFile = path.join(dir, 'rclone.log');

  const logFd = openSync(logFile, 'a');
  // Defaults otherwise: no VFS cache (a PUT streams through crypt to the store, a GET back from it).
  const child = spawn('rclone', [
    'serve', 'webdav', `${REMOTE}:`,
    '--config', config, '--cache-dir', path.join(dir, 'cache'),
    '--addr', `127.0.0.1:${port}`, '--htpasswd', htpasswd,
    '--log-file', logFile, '--log-level', 'NOTICE',
  ], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const pid = child.pid;
  if (!pid) throw new Error('could not start rclone serve webdav');
  trackPid(pid);
  let alive = true;
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  void exited.then(() => {
    alive = false;
    untrackPid(pid);
  });

  const stop = async (): Promise<void> => {
    if (alive) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
    untrackDir(dir);
  };
  const unregister = onCleanup(`rclone serve webdav (pid ${pid})`, stop);

  const baseUrl = new URL(`http://127.0.0.1:${port}`);
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const log = (): Promise<string> => readFile(logFile, 'utf8').catch(() => '');
  for (let i = 0; ; i++) {
    if (!alive) throw new Error(`rclone serve webdav exited during start-up: ${(await log()).slice(-2000)}`);
    if (await answers(baseUrl, authorization)) break;
    if (i >= 150) throw new Error(`rclone serve webdav did not answer within 30 s: ${(await log()).slice(-2000)}`);
    await sleep(200);
  }
  return {
    baseUrl, davPath: '/', authorization, dir, pid, version,
    stop: async () => {
      unregister();
      await stop();
    },
  };
}

/** Whether the server accepts our credentials (OPTIONS / answers 200); false while it is not listening. */
async function answers(baseUrl: URL, authorization: string): Promise<boolean> {
  const listening = await new Promise<boolean>((resolve) => {
    const s = net.connect(Number(baseUrl.port), baseUrl.hostname, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
  if (!listening) return false;
  const agent = keepAliveAgent(1);
  try {
    const r = await request(baseUrl, agent, { method: 'OPTIONS', path: '/', headers: { authorization }, timeoutMs: 5_000 });
    if (r.status === 401) throw new Error('rclone serve webdav refused the generated credentials (HTTP 401)');
    return r.status === 200;
  } finally {
    agent.destroy();
  }
}
