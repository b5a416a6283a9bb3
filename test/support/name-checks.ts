// Forcing two requests that give one collection a name to interleave (test/api/collection-name-races*.int.test.ts):
// the checks a request makes before its transaction (CollectionsRepository.childrenHoldingName on the store's own
// repositories; a transaction's repositories are other objects, so its claim still reads the truth) are made to
// miss, or to wait for one another.
import { vi } from 'vitest';
import type { CollectionsRepository } from '../../src/domain/repositories.js';

/** The next `times` checks of `name` before a transaction miss whatever holds it, as they do just before the holder's commit. */
export function checksMiss(repo: CollectionsRepository, name: string, times: number) {
  // A WebDAV path resolves by exact name (childByName), a service checks in any case (childrenHoldingName): one budget for both.
  const exact = repo.childByName.bind(repo);
  const read = repo.childrenHoldingName.bind(repo);
  let left = times;
  const a = vi.spyOn(repo, 'childByName').mockImplementation(async (o, p, n) => (n === name && left-- > 0 ? undefined : exact(o, p, n)));
  const b = vi.spyOn(repo, 'childrenHoldingName').mockImplementation(async (o, p, n) => (n === name && left-- > 0 ? [] : read(o, p, n)));
  return { mockRestore: () => { a.mockRestore(); b.mockRestore(); } };
}

/** The first `count` checks of `name` each wait, once read, until all `count` have read: every one misses the others' folders. */
export function checksTogether(repo: CollectionsRepository, name: string, count: number) {
  const read = repo.childrenHoldingName.bind(repo);
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => { release = resolve; });
  return vi.spyOn(repo, 'childrenHoldingName').mockImplementation(async (o, p, n) => {
    const found = await read(o, p, n);
    if (n !== name || arrived >= count) return found;
    if (++arrived === count) release();
    await all;
    return found;
  });
}
