// Watches which files and folders are fsynced: a durable write must flush the file and then the
// folder that names it, or a crash can lose the name while the bytes are safe.
import { promises as fsp } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { vi } from 'vitest';

/** Paths of the files and folders fsynced (FileHandle.sync) while `work` ran, in order. */
export async function pathsSynced(work: () => Promise<void>): Promise<string[]> {
  const probe = await fsp.open('.', 'r');
  await probe.close();
  const prototype = Object.getPrototypeOf(probe) as fsp.FileHandle;
  const pathOf = new WeakMap<object, string>();
  const paths: string[] = [];
  const open = fsp.open;
  const sync = prototype.sync;
  const opens = vi.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
    const handle = await open(...args);
    pathOf.set(handle, String(args[0]));
    return handle;
  });
  const syncs = vi.spyOn(prototype, 'sync').mockImplementation(async function (this: fsp.FileHandle) {
    paths.push(pathOf.get(this) ?? '(a file opened elsewhere)');
    return sync.call(this);
  });
  // Modules that import `open` by name hold Node's own function until the named exports are synced.
  syncBuiltinESMExports();
  try {
    await work();
  } finally {
    opens.mockRestore();
    syncs.mockRestore();
    syncBuiltinESMExports();
  }
  return paths;
}
