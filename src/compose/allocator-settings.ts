// The settings of glibc's memory allocator that bin/strongroom gives every process it starts. Left
// at glibc's defaults, memory a large transfer frees goes back to the system and the next buffers
// take fresh pages, which the kernel must zero and fault in: a large download then costs up to
// twice the CPU, changing from one download to the next with where the heap's top happens to lie
// (docs/performance.md "Results, 3 December 2026, evening"); and each thread that allocates beside
// another gets an arena of its own, each keeping its own free memory, so two arenas keep the peak
// lower (docs/performance.md "The allocator's arenas"). glibc reads them only as a process starts,
// so a server can only say that it was started without them.

/** What bin/strongroom sets, when the environment does not already. */
export const LAUNCHER_ALLOCATOR_VARIABLES = ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_'] as const;

/** "A", "A and B", "A, B and C". */
const listed = (names: readonly string[]): string => (names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}`);

/**
 * A line for the operator when this process runs on glibc without the launcher's settings; nothing
 * when they are set (to any value: the operator's choice) or another C library is in use.
 */
export function allocatorNote(env: NodeJS.ProcessEnv = process.env, onGlibc: () => boolean = runsOnGlibc): string | undefined {
  const missing = LAUNCHER_ALLOCATOR_VARIABLES.filter((name) => env[name] === undefined);
  // Asked only when something is missing: Node's report, the one place that names the C library,
  // takes a few milliseconds to gather.
  if (missing.length === 0 || !onGlibc()) return undefined;
  return `Note: ${listed(missing)} ${missing.length === 1 ? 'is' : 'are'} not set, so glibc's allocator runs with its defaults: large downloads can cost twice the CPU, and the server can hold tens of MB more. Start with bin/strongroom, which sets them (docs/operations.md "Memory").`;
}

function runsOnGlibc(): boolean {
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: unknown } };
  return typeof report.header?.glibcVersionRuntime === 'string';
}
