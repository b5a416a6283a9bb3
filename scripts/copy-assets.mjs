#!/usr/bin/env node
// Copies the non-TypeScript files the built server reads at run time from src/ into dist/,
// mirroring their paths (tsc emits only .js). A missing source is skipped, not an error.
// Files deleted from src/ stay in dist/ until `make clean`.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// [folder under src/, which files in it (recursive) to copy]
const ASSETS = [
  ['http/views', (name) => !/\.[cm]?tsx?$/.test(name)], // Nunjucks templates and the like
  ['http/assets', (name) => /\.(m?js|css|svg|png)$/.test(name)], // the web interface's own scripts and styles
  ['db/migrations', (name) => name.endsWith('.sql')],
];

function copyTree(relDir, keep) {
  let entries;
  try {
    entries = readdirSync(path.join(root, 'src', relDir), { withFileTypes: true });
  } catch (error) {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return 0;
    throw error;
  }
  let copied = 0;
  for (const entry of entries) {
    const rel = path.join(relDir, entry.name);
    if (entry.isDirectory()) {
      copied += copyTree(rel, keep);
    } else if (entry.isFile() && keep(entry.name)) {
      const target = path.join(root, 'dist', rel);
      mkdirSync(path.dirname(target), { recursive: true });
      copyFileSync(path.join(root, 'src', rel), target);
      copied += 1;
    }
  }
  return copied;
}

for (const [dir, keep] of ASSETS) copyTree(dir, keep);
