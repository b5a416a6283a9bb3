// The audit log's write and sequencing cost per event, in-process on fresh SQLite vaults
// (bench/lib/audit.ts): N events inserted as the services insert them (each sealed), then sequenced
// (each seal checked, each leaf hashed, the tree's nodes stored), three times on a growing tree.
// With BENCH_BASELINE, another checkout (with node_modules, e.g. a commit unpacked by `git archive`)
// runs the same, alternated (A B, then B A) so both see the same machine; both run from source.
// Usage: node --no-warnings --import tsx bench/audit-rates.ts [N] [ROUNDS]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AuditRun } from './lib/audit.js';
import { REPO_ROOT } from './lib/strongroom.js';

const events = Number(process.argv[2] ?? 4000);
const rounds = Number(process.argv[3] ?? 4);
const trees: [string, string][] = [['this', REPO_ROOT]];
if (process.env.BENCH_BASELINE) trees.push(['baseline', path.resolve(process.env.BENCH_BASELINE)]);

const perEvent = (seconds: number, n: number): string => `${((seconds * 1e6) / n).toFixed(1)} µs`;
for (let round = 0; round < rounds; round++) {
  for (const [name, root] of round % 2 ? [...trees].reverse() : trees) {
    const { auditRates } = (await import(path.join(root, 'bench/lib/audit.ts'))) as { auditRates(dir: string, rounds: number[]): Promise<AuditRun[]> };
    const dir = await mkdtemp(path.join(tmpdir(), 'srb-audit-'));
    try {
      const runs = await auditRates(dir, [events, events, events]);
      const line = runs.map((r) => `insert ${perEvent(r.insertSeconds, r.events)}, sequence ${perEvent(r.integrateSeconds, r.events)}`).join(' | ');
      process.stdout.write(`${name.padEnd(8)} per event, tree from 0 / ${events} / ${2 * events}: ${line}\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
