// Reading a V8 CPU profile (node --cpu-prof): self time by function and by file or package, the
// top entries as printable lines.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Self time of every sample, in seconds. */
  totalSeconds: number;
  /** Self time in microseconds by "function  file:line". */
  byFunction: Map<string, number>;
  /** Self time in microseconds by source file, or by package for node_modules. */
  byFile: Map<string, number>;
}

/** Reads the one .cpuprofile that a process wrote into `dir`. */
export async function readProfile(dir: string): Promise<ProfileSummary> {
  const name = (await readdir(dir)).find((n) => n.endsWith('.cpuprofile'));
  if (!name) throw new Error(`no profile written in ${dir}`);
  const profile = JSON.parse(await readFile(path.join(dir, name), 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    total += us;
    const n = byId.get(id)!;
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, 'node_modules/').replace(/^\/.*?\/(src|bench)\//, '$1/');
    const key = `${n.callFrame.functionName || '(anonymous)'}  ${url}:${n.callFrame.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const pkg = url.startsWith('node_modules/') ? url.split('/').slice(0, url.startsWith('node_modules/@') ? 3 : 2).join('/') : url || `(${n.callFrame.functionName})`;
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + us);
  }
  return { totalSeconds: total / 1e6, byFunction, byFile };
}

/** The `k` largest entries as lines "  12.3 %   0.42 s  key". */
export function topLines(entries: Map<string, number>, totalSeconds: number, k: number): string {
  return [...entries]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([key, us]) => `${((us / 1e6 / totalSeconds) * 100).toFixed(1).padStart(5)} %  ${(us / 1e6).toFixed(2).padStart(6)} s  ${key}`)
    .join('\n');
}
