// Which of two signature sets is the older, from clamd's VERSION as the scanner reports it:
// "ClamAV 1.4.6/27473/Tue Nov 24 09:24:01 2026/strongroom-b8eef5610076" with the official databases
// (27473 is the daily database's number, which only goes up), "ClamAV 1.4.6/strongroom-…" without.
// Each worker watches its own clamd, and each node's freshclam updates at its own time, so two workers
// can see two sets for hours. Without an order the vault's record of the latest flipped between them at
// every check, and each flip queued a rescan of every recent version.

/** The official daily database's number in a VERSION answer, or null when it names none. */
export function dailySignatureNumber(version: string): number | null {
  const match = /^ClamAV [^/]+\/(\d+)\//.exec(version);
  return match ? Number(match[1]) : null;
}

/** The engine's version in a VERSION answer as numbers ("ClamAV 1.4.6/…" → [1, 4, 6]), or null when not plain numbers. */
function engineVersion(version: string): number[] | null {
  const match = /^ClamAV (\d+(?:\.\d+)*)\//.exec(version);
  return match ? (match[1] as string).split('.').map(Number) : null;
}

/** Negative when a is the older engine, positive when the newer, 0 when the same. */
function compareEngines(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * True when `current` is an older set than `latest`: both name the official daily database and
 * current's number is lower, or the same with an older engine (two nodes whose ClamAV packages are
 * upgraded on different days would otherwise flip the record as two freshclam timings did). Anything
 * else that differs (a newer number or engine, our own signatures changed, a set without official
 * databases, an engine version that is not plain numbers) is not known to be older, so it counts as an update.
 */
export function olderSignatures(current: string, latest: string): boolean {
  const [now, before] = [dailySignatureNumber(current), dailySignatureNumber(latest)];
  if (now === null || before === null) return false;
  if (now !== before) return now < before;
  const [engine, latestEngine] = [engineVersion(current), engineVersion(latest)];
  return engine !== null && latestEngine !== null && compareEngines(engine, latestEngine) < 0;
}
