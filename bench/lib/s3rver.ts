// s3rver on loopback in a child process, so the benchmark's own process (and its memory and CPU
// figures) are not the S3 server's. s3rver writes every part to disk, copies the parts into the
// object on completion and hashes it: figures through it bound a real S3's from below only.
import { spawn } from 'node:child_process';
import path from 'node:path';

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export async function startS3rverChild(directory: string): Promise<{ port: number; pid: number | undefined; stop: () => void }> {
  const script = `
    const S3rver = require('s3rver');
    new S3rver({ address: '127.0.0.1', port: 0, directory: ${JSON.stringify(directory)}, silent: true })
      .run().then(({ port }) => process.stdout.write(port + '\\n'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], cwd: path.resolve(import.meta.dirname, '..', '..') });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  return { port, pid: child.pid, stop: () => child.kill() };
}
