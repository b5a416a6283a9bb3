// A download is decided before its first byte, but a large one can flow for minutes after: long enough
// for its person to be switched off, its token revoked, the arrangement that opened the record to be
// suspended, or the record to be disposed of or quarantined. So the same question is asked again as it
// flows, every few seconds, and a refusal stops it there (the client sees the transfer cut short, so it
// never takes a part for the whole).
import { Transform, pipeline, type Readable } from 'node:stream';

/** How often a download in flight is decided again. */
export const DECIDED_AGAIN_EVERY_MS = 5_000;

/**
 * `source` passed through; before a chunk goes on once `everyMs` have passed (by `now`) since the last
 * decision, `decideAgain` is awaited (the chunk waits, so nothing flows past a refusal). A refusal (its
 * rejection) destroys the stream with it; the reader ending early stops `source`.
 */
export function decidedAgainWhileFlowing(source: Readable, o: { now: () => number; everyMs: number; decideAgain: () => Promise<void> }): Readable {
  let decidedAt = o.now();
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (o.now() - decidedAt < o.everyMs) return callback(null, chunk);
      o.decideAgain().then(() => {
        decidedAt = o.now();
        callback(null, chunk);
      }, (error: unknown) => callback(error as Error));
    },
  });
  // pipeline destroys both on an error or an early close of either; the error reaches guard's reader.
  pipeline(source, guard, () => undefined);
  return guard;
}
