// A benchmark's Markdown result, written to bench/results/<date>-<name>.md, or -2, -3 … when an earlier run of
// the same day is there: a run never overwrites another's results.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './strongroom.js';

/** Writes `lines` and prints them with where they went. */
export async function writeDatedResult(name: string, lines: string[]): Promise<void> {
  const stem = path.join(REPO_ROOT, 'bench', 'results', `${new Date().toISOString().slice(0, 10)}-${name}`);
  let out = `${stem}.md`;
  for (let n = 2; existsSync(out); n++) out = `${stem}-${n}.md`;
  await writeFile(out, `${lines.join('\n')}\n`);
  process.stdout.write(`${lines.join('\n')}\n\nwritten to ${path.relative(REPO_ROOT, out)}\n`);
}
