// What a process's resident memory is made of, from /proc/<pid>/smaps, split the way the server's memory
// questions need it: the main thread's malloc heap (`[heap]`: SQLite's pages and statements on the main
// connection, Node's own allocations on the event loop), glibc's other arenas (the thread pool's, the
// search reader's and V8's helper threads' mallocs: with MALLOC_ARENA_MAX=2 one more arena), the other
// anonymous mappings (V8's heap, allocations of MALLOC_MMAP_THRESHOLD_ and over, thread stacks) and pages
// mapped from files (node itself, the bundle, libraries). An arena is told by its shape: glibc reserves each
// one as a 64 MiB-aligned region of 64 MiB, mapped read-write as it grows and inaccessible beyond.
import { readFileSync } from 'node:fs';

export interface MemoryMap {
  /** Each kind's resident bytes. */
  mainHeap: number;
  arenas: number;
  otherAnonymous: number;
  files: number;
}

const ARENA_BYTES = 64n * 1024n * 1024n;

interface Mapping { start: bigint; end: bigint; perms: string; path: string; rss: number }

function mappingsOf(smaps: string): Mapping[] {
  const mappings: Mapping[] = [];
  let current: Mapping | undefined;
  for (const line of smaps.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header) {
      current = { start: BigInt(`0x${header[1]}`), end: BigInt(`0x${header[2]}`), perms: header[3]!, path: header[5]!.trim(), rss: 0 };
      mappings.push(current);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && current) current.rss = Number(rss[1]) * 1024;
  }
  return mappings;
}

/** The process's memory map now; undefined when the process has exited. */
export function memoryMapOf(pid: number): MemoryMap | undefined {
  let smaps: string;
  try {
    smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return undefined;
  }
  const mappings = mappingsOf(smaps);
  // An arena's region: a 64 MiB-aligned start, and mappings (read-write, then inaccessible) that end
  // exactly 64 MiB later.
  const arenaStarts = new Set<bigint>();
  const anonymous = mappings.filter((m) => m.path === '');
  for (const m of anonymous) {
    if (m.start % ARENA_BYTES !== 0n || !m.perms.startsWith('rw')) continue;
    const regionEnd = m.start + ARENA_BYTES;
    const covered = m.end === regionEnd || anonymous.some((next) => next.start === m.end && next.end === regionEnd && next.perms.startsWith('---'));
    if (covered) arenaStarts.add(m.start);
  }
  const map: MemoryMap = { mainHeap: 0, arenas: 0, otherAnonymous: 0, files: 0 };
  for (const m of mappings) {
    if (m.path === '[heap]') map.mainHeap += m.rss;
    else if (m.path === '' && arenaStarts.has(m.start - (m.start % ARENA_BYTES))) map.arenas += m.rss;
    else if (m.path === '' || m.path.startsWith('[')) map.otherAnonymous += m.rss;
    else map.files += m.rss;
  }
  return map;
}
