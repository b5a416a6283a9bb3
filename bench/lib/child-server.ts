// A throwaway HTTP server in a Node child process of its own, for the floor benchmarks: the script
// listens on a free loopback port and prints it; the child's CPU is then read apart from the client's.
import { spawn } from 'node:child_process';
import { trackPid, untrackPid } from './cleanup.js';

export interface ChildServer {
  baseUrl: URL;
  pid: number;
  stop: () => void;
}

/** Runs `script` (CommonJS, given to `node -e`), which must print the port it listens on as its first line. */
export async function startChildServer(script: string): Promise<ChildServer> {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  trackPid(child.pid);
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString('utf8').trim())));
  });
  return { baseUrl: new URL(`http://127.0.0.1:${port}/`), pid: child.pid as number, stop: () => { child.kill('SIGKILL'); untrackPid(child.pid); } };
}
