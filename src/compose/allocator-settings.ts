// The settings of glibc's memory allocator that bin/strongroom gives every process it starts. Left
// at glibc's defaults, memory a large transfer frees goes back to the system and the next buffers
// take fresh pages, which the kernel must zero and fault in: a large download then costs up to
// twice the CPU, changing from one download to the next with where the heap's top happens to lie
// (docs/performance.md "Results, 3 December 2026, evening"). glibc reads them only as a process
// starts, so a server can only say that it was started without them.

/** What bin/strongroom sets, when the environment does not already. */
export const LAUNCHER_ALLOCATOR_VARIABLES = ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_'] as const;

/**
 * A line for the operator when this process runs on glibc without the launcher's settings; nothing
 * when they are set (to any value: the operator's choice) or another C library is in use.
 */
export function allocatorNote(env: NodeJS.ProcessEnv = process.env, onGlibc: () => boolean = runsOnGlibc): string | undefined {
  const missing = LAUNCHER_ALLOCATOR_VARIABLES.filter((name) => env[name] === undefined);
  // Asked only when something is missing: Node's report, the one place that names the C library,
  // takes a few milliseconds to gather.
  if (missing.length === 0 || !onGlibc()) return undefined;
  return `Note: ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not set, so glibc gives freed memory back to the system and large downloads can cost twice the CPU. Start with bin/strongroom, which sets them (docs/operations.md "Memory").`;
}

function runsOnGlibc(): boolean {
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: unknown } };
  return typeof report.header?.glibcVersionRuntime === 'string';
}
