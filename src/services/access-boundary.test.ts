// One enforcement point: outside domain/, only AccessService calls decide(). A service that asked
// decide() itself could skip the audit of a refusal or the fresh read of arrangements, so this
// fails the build when one does (comments and `import type` do not count).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(path.join(SRC, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return sources(rel);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.includes('.test-') ? [rel] : [];
  });
}

/** Whether the file imports the decide function itself (a value import of policy.js naming it). */
function importsDecide(text: string): boolean {
  const imports = text.matchAll(/^import\s+(type\s+)?\{([^}]*)\}\s*from\s*'[./]*(?:domain\/)?access\/policy\.js'/gm);
  for (const [, typeOnly, names] of imports) {
    if (typeOnly) continue;
    if (names!.split(',').some((n) => n.trim() === 'decide')) return true;
  }
  return false;
}

describe('one enforcement point', () => {
  it('has no caller of decide() outside domain/ but AccessService', () => {
    const callers = ['services', 'http', 'webdav', 'cli', 'jobs', 'db', 'storage', 'integrations']
      .flatMap((dir) => sources(dir))
      .filter((file) => importsDecide(readFileSync(path.join(SRC, file), 'utf8')));
    expect([...callers].sort()).toEqual(['services/access.service.ts']);
  });

  it('recognises a value import of decide, and not a type-only one', () => {
    expect(importsDecide("import { decide, type Decision } from '../domain/access/policy.js';")).toBe(true);
    expect(importsDecide("import type { Decision } from '../domain/access/policy.js';")).toBe(false);
    expect(importsDecide("import { reachableOrganisations } from '../domain/access/policy.js';")).toBe(false);
  });
});
