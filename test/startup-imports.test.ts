// What every process loads at start-up: the CLI entry (and so `strongroom serve`) reaches the AWS SDK,
// the SAML library, nodemailer and the PostgreSQL driver only through `await import()`, when a bucket,
// a SAML provider, SMTP or a postgres:// URL is configured, and the QR code drawer when a two-step
// set-up page is first shown. A static import anywhere on the way would put them back in every
// server's memory (docs/performance.md "Memory"); this walks the static graph.
// And the CLI entry itself reaches neither the server nor the vault: a command loads them when it runs
// (cli/serving.ts for serve and demo, main.ts when a command opens the vault), so `--help`, a usage
// error and an import through a server's API start in a fraction of the time.
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');
const LOADED_ON_DEMAND = [/^@aws-sdk\//, /^@node-saml\//, /^nodemailer$/, /^pg$/, /^pdfkit$/, /^qrcode$/];
/** `import … from '…'` and `export … from '…'` that carry values (not `import type`), and bare `import '…'`. */
const STATIC_IMPORT = /^\s*(?:import|export)\s+(?!type\b)[^'";]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm;

/** Each package reached by a static import from `entry`, with the chain of files that reaches it. */
function staticPackages(entry: string): Map<string, string[]> {
  const via = new Map<string, string | null>([[entry, null]]);
  const packages = new Map<string, string[]>();
  const chain = (file: string): string[] => {
    const files: string[] = [];
    for (let f: string | null | undefined = file; f; f = via.get(f)) files.push(path.relative(SRC, f));
    return files;
  };
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    for (const match of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      const specifier = (match[1] ?? match[2])!;
      if (!specifier.startsWith('.')) {
        if (!packages.has(specifier)) packages.set(specifier, chain(file));
        continue;
      }
      const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts');
      if (!existsSync(target) || via.has(target)) continue;
      via.set(target, file);
      pending.push(target);
    }
  }
  return packages;
}

describe('start-up imports', () => {
  it('serve and demo load no optional heavy package statically', () => {
    const packages = staticPackages(path.join(SRC, 'cli', 'serving.ts'));
    // The walk itself works: it finds what serving does need.
    expect(packages.has('fastify')).toBe(true);
    expect(packages.has('better-sqlite3-multiple-ciphers')).toBe(true);
    const eager = [...packages].filter(([name]) => LOADED_ON_DEMAND.some((pattern) => pattern.test(name))).map(([name, files]) => `${name} <- ${files.join(' <- ')}`);
    expect(eager).toEqual([]);
  });

  it('the CLI entry loads neither the server nor the vault until a command needs them', () => {
    const packages = staticPackages(path.join(SRC, 'cli', 'index.ts'));
    expect(packages.has('commander')).toBe(true);
    const eager = [...packages].filter(([name]) => [...LOADED_ON_DEMAND, /^fastify$/, /^@fastify\//, /^better-sqlite3/, /^kysely$/].some((pattern) => pattern.test(name)))
      .map(([name, files]) => `${name} <- ${files.join(' <- ')}`);
    expect(eager).toEqual([]);
  });
});
