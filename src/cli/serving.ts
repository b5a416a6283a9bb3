// Running the server for serve and demo: checks the listening settings, opens the vault, starts its
// background work and listens until SIGINT or SIGTERM. Loaded only by those two commands
// (serve.commands.ts), so every other command starts without the server's modules.
import { readFile } from 'node:fs/promises';
import { allocatorNote } from '../compose/allocator-settings.js';
import { tuneHeapForServing } from '../compose/server-heap.js';
import type { Config } from '../config/config.js';
import { listenProblems } from '../config/network-settings.js';
import { openVault, type Vault } from '../main.js';
import { buildServer, buildWorkerServer } from '../server.js';
import { seedDemo } from './demo-data.js';
import { say } from './context.js';

export async function serve(config: Config, before?: (vault: Vault) => Promise<void>): Promise<void> {
  const problems = listenProblems(config);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  if (config.passwordHashing !== 'standard') {
    say('Warning: STRONGROOM_PASSWORD_HASHING=test-only-weak: passwords set from now on are hashed cheaply and are easy to guess if the database leaks. It is for test suites only: unset it for real people.');
  }
  tuneHeapForServing();
  const note = allocatorNote();
  if (note !== undefined) say(note);
  const https = config.tlsCert && config.tlsKey ? { cert: await readFile(config.tlsCert), key: await readFile(config.tlsKey) } : null;
  const vault = await openVault(config, { create: true, startClamd: true });
  try {
    if (before) await before(vault);
    // Refuses (throws) when the job table holds a kind this version has no handler for.
    await vault.startBackground();
  } catch (error) {
    await vault.close();
    throw error;
  }
  const app = config.role === 'worker'
    ? await buildWorkerServer(vault, https ? { https } : {})
    : await buildServer(vault, { server: https ? { https } : {} });
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const what = config.role === 'web' ? ' (web role: runs no jobs)' : config.role === 'worker' ? ' (worker role: runs jobs; serves health and metrics only)' : '';
  say(`Strongroom is listening on ${https ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}${what} (data in ${config.dataDir}).`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping…`);
    await app.close();
    await vault.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** Creates the demo data (idempotent), then serves unless told only to create it. */
export async function demo(config: Config, options: { serve: boolean }): Promise<void> {
  if (!options.serve) {
    const vault = await openVault(config, { create: true, startClamd: true });
    try {
      await seedDemo(vault, config);
    } finally {
      await vault.close();
    }
    return;
  }
  await serve(config, (vault) => seedDemo(vault, config));
}
