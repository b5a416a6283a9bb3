// serve and demo: run the server (HTTP API, web interface, WebDAV, jobs) until told to stop; --role
// web serves HTTP and runs no jobs, --role worker runs jobs and serves only health and metrics.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { tuneHeapForServing } from '../../compose/server-heap.js';
import { listenProblems, type Config } from '../../config/config.js';
import { openVault, type Vault } from '../../main.js';
import { buildServer, buildWorkerServer } from '../../server.js';
import { seedDemo } from '../demo-data.js';
import { configFrom, say } from '../context.js';

async function serve(config: Config, before?: (vault: Vault) => Promise<void>): Promise<void> {
  const problems = listenProblems(config);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  if (config.passwordHashing !== 'standard') {
    say('Warning: STRONGROOM_PASSWORD_HASHING=test-only-weak: passwords set from now on are hashed cheaply and are easy to guess if the database leaks. It is for test suites only: unset it for real people.');
  }
  tuneHeapForServing();
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

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('run the server: web interface, REST API (/api/v1), WebDAV (/dav/) and background jobs')
    .option('--host <host>', 'address to listen on (env STRONGROOM_HOST, default 127.0.0.1)')
    .option('--port <port>', 'port (env STRONGROOM_PORT, default 8080)')
    .option('--tls-cert <file>', 'TLS certificate (PEM) (env STRONGROOM_TLS_CERT)')
    .option('--tls-key <file>', 'TLS private key (PEM) (env STRONGROOM_TLS_KEY)')
    .option('--trust-proxy', 'a TLS-terminating proxy is in front: allow a non-loopback address without TLS')
    .option('--clamd <address>', 'use an existing clamd (socket path or host:port) instead of starting one (env STRONGROOM_CLAMD)')
    .option('--role <role>', 'all: serve HTTP and run jobs; web: serve HTTP, run no jobs; worker: run jobs, serve only /healthz, /readyz and /metrics (env STRONGROOM_ROLE, default all)')
    .addHelpText('after', [
      '',
      'E-mail and sign-in through an identity provider (docs/email.md, docs/identity.md; every other setting is in docs/operations.md):',
      '  STRONGROOM_SMTP_URL    smtp://user:password@host:587 or smtps://…:465; unset = messages go to the server log',
      '                         and new people get a one-time password on screen instead of an invitation link',
      '  STRONGROOM_MAIL_FROM   the From address, e.g. "Records vault <no-reply@example.gov.uk>" (needed with SMTP)',
      '  STRONGROOM_PUBLIC_URL  where people reach the service, e.g. https://vault.example.gov.uk: links in e-mail, each SAML',
      '                         provider\'s entity id and reply URL, and the OpenID Connect redirect URI are built from it',
      '                         (needed with SMTP and for SAML sign-in; without it OpenID Connect uses the address the browser used)',
    ].join('\n'))
    .action(async (opts: { host?: string; port?: string; tlsCert?: string; tlsKey?: string; trustProxy?: boolean; clamd?: string; role?: string }, command: Command) => {
      await serve(configFrom(command, { host: opts.host, port: opts.port, tlsCert: opts.tlsCert, tlsKey: opts.tlsKey, trustProxy: opts.trustProxy, clamd: opts.clamd, role: opts.role }));
    });

  program
    .command('demo')
    .description('create fictional councils, people, arrangements and documents (idempotent), then serve on http://127.0.0.1:8080')
    .option('--port <port>', 'port (default 8080)')
    .option('--no-serve', 'only create the demo data')
    .action(async (opts: { port?: string; serve: boolean }, command: Command) => {
      const config = configFrom(command, { port: opts.port });
      if (!opts.serve) {
        const vault = await openVault(config, { create: true, startClamd: true });
        try {
          await seedDemo(vault, config);
        } finally {
          await vault.close();
        }
        return;
      }
      await serve(config, (vault) => seedDemo(vault, config));
    });
}
