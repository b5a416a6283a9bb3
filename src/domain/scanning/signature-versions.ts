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

/**
 * True when `current` is an older set than `latest`: both name the official daily database and
 * current's number is lower. Anything else that differs (a newer number, our own signatures changed,
 * a new engine, a set without official databases) is not known to be older, so it counts as an update.
 */
export function olderSignatures(current: string, latest: string): boolean {
  const [now, before] = [dailySignatureNumber(current), dailySignatureNumber(latest)];
  return now !== null && before !== null && now < before;
}
