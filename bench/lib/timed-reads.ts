// A read timed three times in a row on the event loop, printed on one line: the benches that compare a statement
// before and after a change on a large database (replica-ledger-reads.ts, audit-page-reads.ts).

/** Runs `read` three times, then prints `label` padded to `width` and each run's milliseconds. */
export async function timeThrice(label: string, width: number, read: () => Promise<unknown>): Promise<void> {
  const runs: number[] = [];
  for (let k = 0; k < 3; k++) {
    const start = performance.now();
    await read();
    runs.push(performance.now() - start);
  }
  process.stdout.write(`${label.padEnd(width)} ${runs.map((ms) => `${ms.toFixed(1)} ms`).join(', ')}\n`);
}
