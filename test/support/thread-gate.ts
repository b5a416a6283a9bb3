// The test's side of a thread's gate (src/db/thread-test-gate.ts): hold it, know the thread has reached it,
// let it go.
export interface ThreadGate {
  /** Pass as the vault's gate option (snapshotGate, searchReadGate). */
  readonly gate: Int32Array;
  /** Threads reaching the gate from now on wait there until release(). */
  hold(): void;
  release(): void;
  /**
   * Resolves once `count` arrivals have been counted, polling without blocking the event loop. A thread that
   * never comes throws `why` after 20 s rather than leaving it to the test's timeout.
   */
  arrived(count: number, why: string): Promise<void>;
  readonly arrivals: number;
}

export function threadGate(): ThreadGate {
  const gate = new Int32Array(new SharedArrayBuffer(8));
  return {
    gate,
    hold: () => Atomics.store(gate, 0, 1),
    release: () => {
      Atomics.store(gate, 0, 0);
      Atomics.notify(gate, 0);
    },
    async arrived(count, why) {
      const deadline = Date.now() + 20_000;
      while (Atomics.load(gate, 1) < count) {
        if (Date.now() > deadline) throw new Error(why);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    get arrivals() {
      return Atomics.load(gate, 1);
    },
  };
}
