// A test seam shared by the database's threads (the search reader, the snapshot): while `gate[0]` is 1, the
// thread waits where it calls this, blocking as a long statement would; `gate[1]` counts the arrivals, so a
// test knows the thread is there. Replacing the thread (Worker.terminate) interrupts Atomics.wait at once,
// where a statement runs on until it returns: that is tested with a real long statement (sqlite-read-worker.int.test.ts).

/** Waits while the gate is held; nothing when there is no gate (always, outside tests). */
export function waitAtGate(gate: Int32Array | undefined): void {
  if (gate === undefined) return;
  Atomics.add(gate, 1, 1);
  Atomics.notify(gate, 1);
  while (Atomics.load(gate, 0) === 1) Atomics.wait(gate, 0, 1);
}
