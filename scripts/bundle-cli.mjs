#!/usr/bin/env node
// Bundles the built command line (dist/cli/index.js, from tsc) into dist/bundle/: what bin/strongroom
// and the CLI test suites run. Node 20 opens, resolves and compiles each ES module file on its own
// and has no compile cache, so a command that opens the vault spent about 0.7 s of its 0.8 s loading
// some 830 files (kysely alone is 265, zod 99). Bundled, the same command loads a few dozen, at half
// the CPU (docs/performance.md, "The command line's start-up"). Parts a command does not need stay in
// chunks loaded on first use (the server, backups, the S3 store), as they were before.
//
// Not bundled, left for node to load from node_modules as before:
// - native addons (better-sqlite3-multiple-ciphers, argon2, sharp) and the optional pg-native;
// - every package that finds its own files at run time (__dirname, __filename, require.resolve,
//   import.meta), found by reading the packages this build would bundle: their paths would point at
//   dist/bundle/ instead. Today that is pino and thread-stream (workers by path), commander,
//   nunjucks and the two swagger plugins; the list is worked out afresh at every build.
// Our own modules that find files beside themselves (templates, migrations, ClamAV's signatures, the
// parser child's script) keep working because each module's import.meta.url is rewritten to the URL of
// the file tsc wrote, which stays in dist/. The parser child and anything else run by path therefore
// run unbundled.
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const outdir = path.join(dist, 'bundle');

const ALWAYS_EXTERNAL = ['better-sqlite3-multiple-ciphers', 'argon2', 'sharp', 'pg-native'];
/** Signs that a package reads files relative to itself, which bundling would break. */
const FINDS_OWN_FILES = ['__dirname', '__filename', 'require.resolve', 'import.meta'];
const PACKAGE_IN_PATH = /node_modules\/((?:@[^/]+\/)?[^/]+)\//;

/** Each of our modules' import.meta.url becomes the URL of its file in dist/, computed from the bundle's own URL so the checkout can move. */
const keepModuleUrls = {
  name: 'keep-module-urls',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(dist + path.sep)) return undefined;
      const contents = await readFile(args.path, 'utf8');
      if (!contents.includes('import.meta.url')) return { contents, loader: 'js' };
      const fromBundle = path.relative(outdir, args.path).split(path.sep).join('/');
      return { contents: contents.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`), loader: 'js' };
    });
  },
};

const options = (external) => ({
  absWorkingDir: root,
  entryPoints: { strongroom: path.join(dist, 'cli', 'index.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Error and class names stay as written (logs, pino's `type`), even where two modules share one.
  keepNames: true,
  external,
  // Bundled CommonJS packages call require() for node's own modules and the externals above.
  banner: { js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);" },
  plugins: [keepModuleUrls],
  logLevel: 'warning',
});

/** Packages the bundle would include whose code finds files relative to itself. */
async function packagesFindingOwnFiles() {
  const trial = await build({ ...options(ALWAYS_EXTERNAL), write: false, metafile: true, logLevel: 'silent' });
  const found = new Set();
  for (const input of Object.keys(trial.metafile.inputs)) {
    const name = PACKAGE_IN_PATH.exec(input)?.[1];
    if (name === undefined || found.has(name)) continue;
    const code = await readFile(path.join(root, input), 'utf8');
    if (FINDS_OWN_FILES.some((sign) => code.includes(sign))) found.add(name);
  }
  return [...found].sort();
}

const unbundled = await packagesFindingOwnFiles();
await rm(outdir, { recursive: true, force: true });
await build(options([...ALWAYS_EXTERNAL, ...unbundled]));
if (process.env.STRONGROOM_BUNDLE_VERBOSE) console.log(`dist/bundle: left to node_modules: ${unbundled.join(', ')}`);
