// How many of this process's file descriptors are open on a path: for tests that a file is closed
// on every path, including failures.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

export async function openDescriptorsOn(path: string): Promise<number> {
  let count = 0;
  for (const fd of await fsp.readdir('/proc/self/fd')) {
    if ((await fsp.readlink(join('/proc/self/fd', fd)).catch(() => '')) === path) count++;
  }
  return count;
}
