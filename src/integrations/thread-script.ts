// Starting one of our own modules on a worker thread, from the TypeScript source (tests, tsx) or built.
// Used by the search reader (db/sqlite-read-worker.ts) and the SAML thread (saml/saml-verify-worker.ts).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

const FROM_SOURCE_BOOTSTRAP = `const { workerData } = require('node:worker_threads');
import(workerData.tsxApi).then((api) => api.register()).then(() => import(workerData.entry));`;

/** tsx's ES module API, as its package's exports name it (its CommonJS one cannot register the ES loader in a thread). */
function tsxModuleApi(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(path.join(path.dirname(manifest), exports['./esm/api']!.import.default)).href;
}

/**
 * Starts the thread module `name` (no extension) that sits beside the module at `moduleUrl` (its
 * import.meta.url). Run from the TypeScript source the thread needs tsx's loader too; built, it does not:
 * the thread's module stays unbundled in dist/, found beside the caller's file (scripts/bundle-cli.mjs
 * rewrites each module's import.meta.url to its file in dist/). `options.workerData` must be an object.
 */
export function startThread(moduleUrl: string, name: string, options: WorkerOptions = {}): Worker {
  const fromSource = moduleUrl.endsWith('.ts');
  const script = fileURLToPath(new URL(`${name}.${fromSource ? 'ts' : 'js'}`, moduleUrl));
  if (!fromSource) return new Worker(script, options);
  const workerData = { ...(options.workerData as object | undefined), tsxApi: tsxModuleApi(), entry: pathToFileURL(script).href };
  return new Worker(FROM_SOURCE_BOOTSTRAP, { ...options, eval: true, workerData });
}
