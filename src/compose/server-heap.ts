// V8's heap, set for a long-running server. Left to itself V8 picks, after each full collection, how
// far the old generation may grow before the next, from how fast it collects against how fast the
// program allocates. For this server that choice swings between extremes: while uploads pour in it
// lets the heap reach about four times what is live (a resident set at the 300 MB line with 40 MB
// live), and once they stop and the queued work (text extraction, replication) runs at a lower
// allocation rate it allows about a tenth more, so it collects everything every 150-250 ms: 216 full
// collections in 25 s after 2,000 small uploads, most of the extra CPU that backlog cost
// (docs/performance.md, "The heap's growing factor"). A fixed factor bounds both: the old generation
// grows to twice what the last full collection kept, whatever the rate.
import v8 from 'node:v8';

/** The old generation may grow to (1 + this / 100) times what the last full collection kept. */
export const HEAP_GROWING_PERCENT = 100;

/**
 * Sets the growing factor for this process, unless the operator chose one on the command line
 * (`node --heap-growing-percent=N …`; NODE_OPTIONS cannot carry V8 flags of this kind). V8 reads
 * it at every collection, so setting it once the process runs takes effect from the next.
 */
export function tuneHeapForServing(execArgv: readonly string[] = process.execArgv): void {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
