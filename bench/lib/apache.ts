// A throwaway Apache httpd with mod_dav/mod_dav_fs on a loopback port, in its own temporary
// directory with a self-contained config (no /etc/apache2), Basic auth like Strongroom's WebDAV.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { onCleanup, trackDir, untrackDir } from './cleanup.js';
import { sleep } from './strongroom.js';

export interface RunningApache {
  baseUrl: URL;
  davPath: string;
  authorization: string;
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });

function apachectl(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('apache2', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(safeRead(`/proc/${pid}/status`));
function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export async function startApache(): Promise<RunningApache> {
  const dir = await mkdtemp(path.join(tmpdir(), 'srb-apache-'));
  trackDir(dir);
  await chmod(dir, 0o755);
  const www = path.join(dir, 'www');
  const dav = path.join(www, 'dav');
  const run = path.join(dir, 'run');
  await mkdir(dav, { recursive: true });
  await mkdir(run);
  // Started as root, httpd's workers run as www-data; they must be able to write the DAV tree.
  const root = userInfo().uid === 0;
  if (root) {
    const ids = await readFile('/etc/passwd', 'utf8').then((t) => /^www-data:[^:]*:(\d+):(\d+):/m.exec(t));
    if (!ids) throw new Error('no www-data user for Apache to run as');
    for (const p of [dav, run]) await chown(p, Number(ids[1]), Number(ids[2]));
  }
  const user = 'bench';
  const password = createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 24);
  await writeFile(path.join(dir, 'htpasswd'), `${user}:{SHA}${createHash('sha1').update(password).digest('base64')}\n`, { mode: 0o644 });
  const port = await freePort();
  const conf = path.join(dir, 'httpd.conf');
  const pidFile = path.join(run, 'httpd.pid');
  await writeFile(conf, [
    'ServerRoot /usr/lib/apache2',
    'ServerName 127.0.0.1',
    `Listen 127.0.0.1:${port}`,
    `PidFile ${pidFile}`,
    `DefaultRuntimeDir ${run}`,
    `ErrorLog ${path.join(dir, 'error.log')}`,
    'LogLevel warn',
    ...(root ? ['User www-data', 'Group www-data'] : []),
    'LoadModule mpm_event_module modules/mod_mpm_event.so',
    'LoadModule authz_core_module modules/mod_authz_core.so',
    'LoadModule authn_core_module modules/mod_authn_core.so',
    'LoadModule authn_file_module modules/mod_authn_file.so',
    'LoadModule authz_user_module modules/mod_authz_user.so',
    'LoadModule auth_basic_module modules/mod_auth_basic.so',
    'LoadModule dav_module modules/mod_dav.so',
    'LoadModule dav_fs_module modules/mod_dav_fs.so',
    `DavLockDB ${path.join(run, 'davlock')}`,
    'KeepAlive On',
    'MaxKeepAliveRequests 0',
    'KeepAliveTimeout 30',
    'LimitRequestBody 0',
    `DocumentRoot ${www}`,
    `<Directory ${dav}>`,
    '  Dav On',
    '  AuthType Basic',
    '  AuthName "bench"',
    `  AuthUserFile ${path.join(dir, 'htpasswd')}`,
    '  Require valid-user',
    '</Directory>',
    '',
  ].join('\n'));

  let pid = 0;
  const stop = async (): Promise<void> => {
    await apachectl(['-f', conf, '-k', 'stop']).catch(() => undefined);
    for (let i = 0; i < 100 && pid && alive(pid); i++) await sleep(100);
    if (pid && alive(pid)) {
      try {
        process.kill(-pid, 'SIGKILL'); // httpd is a session leader: its group is master and workers
      } catch {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    await rm(dir, { recursive: true, force: true });
    untrackDir(dir);
  };
  const unregister = onCleanup('apache2', stop);

  const started = await apachectl(['-f', conf, '-k', 'start']);
  if (started.code !== 0) throw new Error(`apache2 did not start: ${started.output}`);
  for (let i = 0; i < 100 && !pid; i++) {
    pid = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => '0'), 10) || 0;
    if (!pid) await sleep(100);
  }
  if (!pid) throw new Error(`apache2 wrote no pid file: ${await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '')}`);
  for (let i = 0; i < 50; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    await sleep(100);
  }
  return {
    baseUrl: new URL(`http://127.0.0.1:${port}`),
    davPath: '/dav/',
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    dir,
    pid,
    stop: async () => {
      unregister();
      await stop();
    },
  };
}
