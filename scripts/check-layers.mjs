#!/usr/bin/env node
// Dependency-direction lint (see STYLE.md "Which way dependencies point" and docs/architecture.md
// "Boundaries"), plus no `.only(` in tests. Plain Node, no dependencies. Prints one
// `file:line: message` per violation, exits 1.
//
// Rules, for non-test files under src/ (tests may reach across layers to set things up). Type-only
// imports count: a type is a dependency too.
//   domain/            imports nothing outside src/domain, no I/O built-ins, no driver/framework packages
//   services/          imports no adapter (db/ storage/ integrations/ jobs/): it depends on the ports in
//                      domain/; no interface, no protocol/, not the composition root
//   db/ storage/ integrations/ jobs/ (adapters)   import no interface, no protocol/, not the composition root
//   http/ webdav/ cli/ (interfaces)   import no adapter and no other interface: they get services
//                      (services/app-services.ts) from the composition root; http/api/ and http/ui/
//                      do not import each other either (what both need lives in http/ itself)
//   protocol/          HTTP helpers every interface shares: imports only domain/
//   main.ts, server.ts (composition root, src/*.ts and src/compose/)   may import anything; of the
//                      interfaces only cli/ (the process's entry point) may import them
// A single import may be let through with `// layer-exempt: <reason>` on its line.
//
// Usage: node scripts/check-layers.mjs [repo root]   (default: this script's parent directory)
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));

const DOMAIN_FORBIDDEN_BUILTINS = new Set(['fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'tls', 'child_process', 'dgram']);
const DOMAIN_FORBIDDEN_PACKAGES = [
  (name) => ['fastify', 'kysely', 'pg', 'nunjucks'].includes(name),
  (name) => name.startsWith('better-sqlite3'),
  (name) => name.startsWith('@aws-sdk/'),
  (name) => name.startsWith('@fastify/'),
];
const ADAPTERS = new Set(['db', 'storage', 'integrations', 'jobs']);
const INTERFACES = new Set(['http', 'webdav', 'cli']);
/** src/*.ts and src/compose/, the composition root: main.ts, server.ts, the backup*.ts files and what main.ts composes from. */
const ROOT = '.';
const ROOT_FOLDERS = new Set(['compose']);
/** All files under dir (relative to root) whose names pass `keep`; [] if dir is absent. */
function walk(dir, keep) {
  const out = [];
  let entries;
  try {
    entries = readdirSync(path.join(root, dir), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) out.push(...walk(rel, keep));
    } else if (keep(entry.name)) {
      out.push(rel);
    }
  }
  return out;
}

/**
 * Blanks comments (keeping newlines, so offsets and line numbers survive). With blankStrings,
 * string and template contents are blanked too (quotes kept). A lint-grade scanner: it does not
 * understand regular-expression literals, which is fine for import lines and `.only(`.
 */
function stripComments(src, blankStrings = false) {
  let out = '';
  let i = 0;
  const blank = (s) => s.replace(/[^\n]/g, ' ');
  while (i < src.length) {
    const c = src[i];
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      const end = src.indexOf('\n', i);
      const stop = end === -1 ? src.length : end;
      out += blank(src.slice(i, stop));
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end === -1 ? src.length : end + 2;
      out += blank(src.slice(i, stop));
      i = stop;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\') j++;
        else if (c !== '`' && src[j] === '\n') break; // unterminated: stop at end of line
        j++;
      }
      const body = src.slice(i + 1, j);
      out += c + (blankStrings ? blank(body) : body) + (j < src.length ? src[j] : '');
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const IMPORT_PATTERNS = [
  // import x from 'y'; import { a,\n b } from 'y'; export * from 'y'; import type … from 'y'
  /(?:^|[;\n}])\s*(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])([^'"\n]+)\1/g,
  // import 'y' (side effects)
  /(?:^|[;\n}])\s*import\s*(['"])([^'"\n]+)\1/g,
  // import('y'), require('y')
  /\b(?:import|require)\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g,
];

/** [{ spec, startLine, endLine }] for every import-ish statement (1-based lines). */
function findImports(code) {
  const lineAt = (offset) => code.slice(0, offset).split('\n').length;
  const found = new Map();
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of code.matchAll(pattern)) {
      const full = match[0];
      const start = match.index + full.search(/import|export|require/); // skip the separator matched on
      const specOffset = match.index + full.lastIndexOf(match[2]);
      const item = { spec: match[2], startLine: lineAt(start), endLine: lineAt(specOffset) };
      found.set(`${specOffset}`, item);
    }
  }
  return [...found.values()];
}

/** Which top-level folder of src/ a repo-relative path is in ('.' for the composition root, '' if not under src/). */
function layerOf(relPath) {
  const parts = relPath.split('/');
  if (parts[0] !== 'src') return '';
  return parts.length > 2 && !ROOT_FOLDERS.has(parts[1]) ? parts[1] : ROOT;
}

/** The part of an interface a file is in: 'http/api', 'http/ui', or just its layer. */
function interfaceOf(relPath) {
  const parts = relPath.split('/');
  return parts[1] === 'http' && (parts[2] === 'api' || parts[2] === 'ui') && parts.length > 3 ? `http/${parts[2]}` : layerOf(relPath);
}

function packageName(spec) {
  const bare = spec.replace(/^node:/, '');
  const parts = bare.split('/');
  return bare.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function checkImport(file, spec) {
  const from = layerOf(file);
  const relative = spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..';
  const target = relative ? path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)) : null;
  const to = target === null ? null : layerOf(target);

  if (from === 'domain') {
    if (target !== null) {
      if (to !== 'domain') return `domain/ must not import outside src/domain (${spec})`;
    } else {
      const builtin = spec.replace(/^node:/, '');
      if (DOMAIN_FORBIDDEN_BUILTINS.has(builtin) || DOMAIN_FORBIDDEN_BUILTINS.has(builtin.split('/')[0])) {
        return `domain/ must not do I/O (${spec})`;
      }
      const name = packageName(spec);
      if (DOMAIN_FORBIDDEN_PACKAGES.some((test) => test(name))) return `domain/ must not depend on ${name}`;
    }
  }
  if (to === null || to === '' || to === from) {
    if (to === from && from === 'http') {
      const [fromPart, toPart] = [interfaceOf(file), interfaceOf(target)];
      if (fromPart !== toPart && fromPart !== 'http' && toPart !== 'http') {
        return `${fromPart}/ must not import from ${toPart}/: move what both need to http/ (${spec})`;
      }
    }
    return null;
  }
  if (from === 'services') {
    if (ADAPTERS.has(to)) return `services/ must depend on a port in domain/, not import from the ${to}/ adapter (${spec})`;
    if (INTERFACES.has(to) || to === 'protocol') return `services/ must not import from ${to}/ (${spec})`;
    if (to === ROOT) return `services/ must not import the composition root (${spec})`;
  }
  if (ADAPTERS.has(from)) {
    if (INTERFACES.has(to) || to === 'protocol') return `${from}/ is an adapter and must not import from ${to}/ (${spec})`;
    if (to === ROOT) return `${from}/ is an adapter and must not import the composition root (${spec})`;
  }
  if (INTERFACES.has(from)) {
    if (ADAPTERS.has(to)) return `${from}/ must go through a service, not import from ${to}/ (${spec})`;
    if (INTERFACES.has(to)) return `${from}/ must not import another interface (${to}/): the composition root mounts interfaces, and shared HTTP helpers live in protocol/ (${spec})`;
    if (to === ROOT && from !== 'cli') return `${from}/ must not import the composition root: it is given AppServices (${spec})`;
  }
  if (from === 'protocol' && to !== 'domain') return `protocol/ may import only domain/ (${spec})`;
  return null;
}

const isTestFile = (rel) => /\.test\.[cm]?[jt]sx?$/.test(rel) || rel.startsWith('test/');
const violations = [];

const sourceFiles = walk('src', (name) => /\.[cm]?tsx?$/.test(name) && !name.endsWith('.d.ts'));
for (const file of sourceFiles) {
  if (isTestFile(file)) continue;
  const raw = readFileSync(path.join(root, file), 'utf8');
  const rawLines = raw.split('\n');
  for (const { spec, startLine, endLine } of findImports(stripComments(raw))) {
    const problem = checkImport(file, spec);
    if (!problem) continue;
    const statement = rawLines.slice(startLine - 1, endLine).join('\n');
    const exemption = statement.match(/\/\/\s*layer-exempt:(.*)$/m);
    if (exemption && exemption[1].trim()) continue;
    const hint = exemption ? ' (layer-exempt needs a reason)' : '';
    violations.push({ file, line: endLine, message: `${problem}${hint}` });
  }
}

const testFiles = [
  ...sourceFiles.filter(isTestFile),
  ...walk('test', (name) => /\.[cm]?[jt]sx?$/.test(name)),
];
for (const file of testFiles) {
  const code = stripComments(readFileSync(path.join(root, file), 'utf8'), true);
  code.split('\n').forEach((line, index) => {
    if (/\.only\s*\(/.test(line)) violations.push({ file, line: index + 1, message: '.only( must not be committed' });
  });
}

const byFileAndLine = (a, b) => a.file.localeCompare(b.file) || a.line - b.line;
for (const { file, line, message } of violations.sort(byFileAndLine)) console.log(`${file}:${line}: ${message}`);
if (violations.length > 0) {
  console.log(`check-layers: ${violations.length} violation(s)`);
  process.exit(1);
}
