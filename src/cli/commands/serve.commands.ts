// serve and demo: run the server (HTTP API, web interface, WebDAV, jobs) until told to stop; --role
// web serves HTTP and runs no jobs, --role worker runs jobs and serves only health and metrics.
// What they run is in ../serving.ts, loaded when one of them is run.
import type { Command } from 'commander';
import { configFrom } from '../context.js';

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('run the server: web interface, REST API (/api/v1), WebDAV (/dav/) and background jobs')
    .option('--host <host>', 'address to listen on (env STRONGROOM_HOST, default 127.0.0.1)')
    .option('--port <port>', 'port (env STRONGROOM_PORT, default 8080)')
    .option('--tls-cert <file>', 'TLS certificate (PEM) (env STRONGROOM_TLS_CERT)')
    .option('--tls-key <file>', 'TLS private key (PEM) (env STRONGROOM_TLS_KEY)')
    .option('--trust-proxy [proxies]', 'a TLS-terminating proxy is in front: allow a non-loopback address without TLS, and take the client address from X-Forwarded-For as that proxy saw it. Give how many proxies are in a row (default 1: the right-most entry is the client) or their addresses/CIDRs (e.g. 127.0.0.1,10.0.0.0/24; safest, as a client that reaches this server directly is then never believed) (env STRONGROOM_TRUST_PROXY)')
    .option('--clamd <address>', 'use an existing clamd (socket path or host:port) instead of starting one (env STRONGROOM_CLAMD)')
    .option('--role <role>', 'all: serve HTTP and run jobs; web: serve HTTP, run no jobs; worker: run jobs, serve only /healthz, /readyz and /metrics (env STRONGROOM_ROLE, default all)')
    .addHelpText('after', [
      '',
      'E-mail and sign-in through an identity provider (docs/email.md, docs/identity.md; every other setting is in docs/operations.md):',
      '  STRONGROOM_SMTP_URL    smtp://user:password@host:587 or smtps://…:465; unset = messages go to the server log',
      '                         and new people get a one-time password on screen instead of an invitation link (a password',
      '                         reset shows its set-password link once, for 24 hours, instead of mailing it)',
      '  STRONGROOM_MAIL_FROM   the From address, e.g. "Records vault <no-reply@example.gov.uk>" (needed with SMTP)',
      '  STRONGROOM_PUBLIC_URL  where people reach the service, e.g. https://vault.example.gov.uk: links in e-mail, each SAML',
      '                         provider\'s entity id and reply URL, and the OpenID Connect redirect URI are built from it',
      '                         (needed with SMTP and for SAML sign-in; without it OpenID Connect uses the address the browser used)',
      '  STRONGROOM_ACCOUNT_NOTICES_SINGLY         security notices sent one by one to a person in a window (default 3);',
      '                                            later ones go in one summary at the window\'s end',
      '  STRONGROOM_ACCOUNT_NOTICE_WINDOW_MINUTES  how long that window lasts, from its first notice (default 15)',
    ].join('\n'))
    .action(async (opts: { host?: string; port?: string; tlsCert?: string; tlsKey?: string; trustProxy?: boolean | string; clamd?: string; role?: string }, command: Command) => {
      const config = configFrom(command, { host: opts.host, port: opts.port, tlsCert: opts.tlsCert, tlsKey: opts.tlsKey, trustProxy: opts.trustProxy, clamd: opts.clamd, role: opts.role });
      const { serve } = await import('../serving.js');
      await serve(config);
    });

  program
    .command('demo')
    .description('create fictional councils, people, arrangements and documents (idempotent), then serve on http://127.0.0.1:8080')
    .option('--port <port>', 'port (default 8080)')
    .option('--no-serve', 'only create the demo data')
    .action(async (opts: { port?: string; serve: boolean }, command: Command) => {
      const config = configFrom(command, { port: opts.port });
      const { demo } = await import('../serving.js');
      await demo(config, { serve: opts.serve });
    });
}
