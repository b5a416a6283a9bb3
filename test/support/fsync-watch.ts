// Watches which files and folders are fsynced: a durable write must flush the file and then the
// folder that names it, or a crash can lose the name while the bytes are safe.
import { fstatSync, promises as fsp } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { vi } from 'vitest';

/** Paths of the files and folders fsynced (FileHandle.sync) while `work` ran, in order. */
export async function pathsSynced(work: () => Promise<void>): Promise<string[]> {
  const pathOf = new WeakMap<object, string>();
  const paths: string[] = [];
  await watchingHandles(work, 'sync', (handle, path) => pathOf.set(handle, path), (handle) => paths.push(pathOf.get(handle) ?? '(a file opened elsewhere)'));
  return paths;
}

/** How many files fs.promises.open opened while `work` ran, and for each FileHandle.datasync the handle and the inode it flushed. */
export async function datasyncsWatched(work: () => Promise<void>): Promise<{ opens: number; syncs: { handle: fsp.FileHandle; ino: number }[] }> {
  const seen = { opens: 0, syncs: [] as { handle: fsp.FileHandle; ino: number }[] };
  await watchingHandles(work, 'datasync', () => (seen.opens += 1), (handle) => seen.syncs.push({ handle, ino: fstatSync(handle.fd).ino }));
  return seen;
}

/** Runs `work` with fs.promises.open and one FileHandle method watched: `opened` after each open, `called` before each call. */
async function watchingHandles(
  work: () => Promise<void>,
  method: 'sync' | 'datasync',
  opened: (handle: fsp.FileHandle, path: string) => void,
  called: (handle: fsp.FileHandle) => void,
): Promise<void> {
  const probe = await fsp.open('.', 'r');
  await probe.close();
  const prototype = Object.getPrototypeOf(probe) as fsp.FileHandle;
  const open = fsp.open;
  const original = prototype[method];
  const opens = vi.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
    const handle = await open(...args);
    opened(handle, String(args[0]));
    return handle;
  });
  const calls = vi.spyOn(prototype, method).mockImplementation(async function (this: fsp.FileHandle) {
    called(this);
    return original.call(this);
  });
  // Modules that import `open` by name hold Node's own function until the named exports are synced.
  syncBuiltinESMExports();
  try {
    await work();
  } finally {
    opens.mockRestore();
    calls.mockRestore();
    syncBuiltinESMExports();
  }
}
