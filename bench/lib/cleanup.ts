// Teardown registry: every child process, server and temporary directory the bench creates
// registers how to undo itself here, so a failure, Ctrl-C or the time limit still cleans up.
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

type Task = { name: string; run: () => Promise<void> | void };

const tasks: Task[] = [];
/** Child pids to SIGKILL synchronously if the process exits before the async cleanup ran. */
const livePids = new Set<number>();
/** Directories to remove synchronously as a last resort. */
const liveDirs = new Set<string>();

export function onCleanup(name: string, run: () => Promise<void> | void): () => void {
  const task = { name, run };
  tasks.push(task);
  return () => {
    const i = tasks.indexOf(task);
    if (i >= 0) tasks.splice(i, 1);
  };
}

export function trackPid(pid: number | undefined): void {
  if (pid) livePids.add(pid);
}

export function untrackPid(pid: number | undefined): void {
  if (pid) livePids.delete(pid);
}

export function trackDir(dir: string): void {
  liveDirs.add(dir);
}

export function untrackDir(dir: string): void {
  liveDirs.delete(dir);
}

/** Runs every registered task, newest first, each bounded in time; never throws. */
export async function cleanupAll(log: (line: string) => void = () => undefined): Promise<void> {
  while (tasks.length > 0) {
    const task = tasks.pop() as Task;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(task.run),
        new Promise<void>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('timed out after 30 s')), 30_000);
        }),
      ]);
    } catch (error) {
      log(`cleanup "${task.name}" failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Last resort on process exit: kill what is still alive and remove what is still there. */
export function cleanupSync(): void {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  livePids.clear();
  for (const dir of liveDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  liveDirs.clear();
}

/**
 * Runs a benchmark's `main`, then everything registered for cleanup, and exits 0, or 1 after logging why it
 * failed; cleanupSync is the last resort if the process exits any other way.
 */
export function runBench(main: () => Promise<void>, log: (line: string) => void): void {
  process.on('exit', cleanupSync);
  main().then(
    async () => {
      await cleanupAll(log);
      process.exit(0);
    },
    async (error: unknown) => {
      log(`FAILED: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      await cleanupAll(log);
      process.exit(1);
    },
  );
}

/** A new temporary folder, removed by cleanupAll (or, as a last resort, cleanupSync) when the benchmark ends. */
export async function temporaryFolder(prefix: string): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), prefix));
  trackDir(root);
  onCleanup('temporary directory', async () => {
    await rm(root, { recursive: true, force: true });
    untrackDir(root);
  });
  return root;
}
