// Health, readiness, Prometheus metrics and the audit log's public key.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Gauge } from 'prom-client';
import { DomainError } from '../../domain/errors.js';
import type { AppServices } from '../../services/app-services.js';

export const systemRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const registry = app.metrics; // requests are counted at the root (plugins/metrics.ts)
  new Gauge({
    name: 'strongroom_audit_integrity_alarm', help: '1 when the audit log failed a check and signing has stopped (see the Audit page); alert on it',
    // The signer's (a worker's, with several nodes), read from the database, so every node reports it.
    registers: [registry], async collect() {
      this.set((await vault.audit.alarm.currentAlarm()) ? 1 : 0);
    },
  });

  // The queue's counts come from the database at scrape time, so every process reports the cluster's.
  // A failed count that stays above zero wants an operator: `strongroom jobs failed`. Read once for both gauges.
  const jobCounts = oncePerScrape(() => vault.jobs.counts());
  const jobCount = (name: string, help: string, pick: (counts: { queued: number; failed: number }) => number) => new Gauge({
    name, help, registers: [registry],
    async collect() {
      // A database that does not answer must not take the other metrics down with it: the gauge goes missing instead.
      try {
        this.set(pick(await jobCounts()));
      } catch (error) {
        this.reset();
        app.log.warn({ err: error }, `${name}: the job counts could not be read`);
      }
    },
  });
  jobCount('strongroom_jobs_failed', 'Dead-lettered jobs (ran out of attempts) in the whole cluster; see "strongroom jobs failed"', (c) => c.failed);
  jobCount('strongroom_jobs_queued', 'Jobs waiting to run in the whole cluster (queued, not yet leased by a worker)', (c) => c.queued);
  new Gauge({
    name: 'strongroom_jobs_oldest_wait_seconds',
    help: 'How long the oldest due job of each lane of the queue has waited, in seconds (0 when none is due); alert when the mail or availability lane waits minutes',
    labelNames: ['lane'], registers: [registry],
    async collect() {
      try {
        const waits = await vault.jobs.oldestWaits();
        for (const [lane, seconds] of Object.entries(waits)) this.set({ lane }, Math.floor(seconds));
      } catch (error) {
        this.reset();
        app.log.warn({ err: error }, 'strongroom_jobs_oldest_wait_seconds: the queue could not be read');
      }
    },
  });

  // The offsite replica's health, from the database at scrape time (cluster-wide, like the job counts): read
  // once for its three gauges, which a scrape collects together (each used to read it again).
  const replicaHealth = oncePerScrape(() => vault.replication.health());
  const replicaGauge = (name: string, help: string, pick: (h: Awaited<ReturnType<AppServices['replication']['health']>>) => number) => new Gauge({
    name, help, registers: [registry],
    async collect() {
      try {
        this.set(pick(await replicaHealth()));
      } catch (error) {
        this.reset();
        app.log.warn({ err: error }, `${name}: the replica's state could not be read`);
      }
    },
  });
  replicaGauge('strongroom_replica_pending_blobs', 'Committed document versions whose blob the offsite replica does not hold yet (0 when STRONGROOM_REPLICA=none)', (h) => h.pending);
  replicaGauge('strongroom_replica_lag_seconds', 'How long the oldest blob waiting for the offsite replica has waited, in seconds', (h) => h.oldestWaitingSeconds);
  replicaGauge('strongroom_blobs_unrecoverable', 'Document versions whose primary and replica copies are both damaged or missing (the scrub found them); alert on any', (h) => h.unrecoverable);

  // The last scheduled backup into the replica (STRONGROOM_BACKUP), from the database: every node reports the cluster's.
  new Gauge({
    name: 'strongroom_backup_last_success_timestamp_seconds',
    help: 'When the last scheduled backup into the replica was made (Unix time; 0 before the first); alert when older than a day and a bit',
    registers: [registry],
    async collect() {
      try {
        const last = await vault.backups.last();
        this.set(last === null ? 0 : Math.floor(Date.parse(last.at) / 1000));
      } catch (error) {
        this.reset();
        app.log.warn({ err: error }, 'strongroom_backup_last_success_timestamp_seconds: the last backup could not be read');
      }
    },
  });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  // Metrics show how busy the service is, its errors and its versions: not for strangers. With a
  // scrape token configured it is required from everywhere; without one only a scraper connected
  // straight to a loopback address gets an answer, and anyone else finds nothing there at all. A
  // forwarded request is never loopback, whoever it names: X-Forwarded-For is written (at least in
  // part) by the client, and a proxy on this host connects from loopback on everyone's behalf.
  const scrapeToken = vault.config.metricsToken;
  const isOperatorScraper = (request: FastifyRequest): boolean => (scrapeToken !== undefined ? presentsToken(request, scrapeToken) : connectedFromLoopback(request));

  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    // Without a scanner uploads still land (as pending_scan), so only the database decides readiness.
    // The audit alarm does not either: events are still recorded, only signing waits, and taking every
    // instance out of the load balancer would stop the council's work without protecting anything.
    // So a load balancer needs only the database's answer, and that is all anyone else is told: whether the
    // audit log failed an integrity check (someone rewrote it, and whether it was noticed) is told only to
    // whom /metrics answers (`"audit": "ok"` or `"alarm"`), as its gauge is; councils see it on the Audit pages.
    const checks = { ...(await vault.health()), ...(isOperatorScraper(request) ? { audit: (await vault.audit.alarm.currentAlarm()) ? 'alarm' : 'ok' } : {}) };
    return reply.status(checks.database === 'ok' ? 200 : 503).send({ status: checks.database === 'ok' ? 'ready' : 'not ready', checks });
  });

  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (scrapeToken !== undefined) {
      if (!presentsToken(request, scrapeToken)) {
        reply.header('WWW-Authenticate', 'Bearer realm="metrics"');
        throw new DomainError('UNAUTHENTICATED', 'Metrics need the scrape token: send "Authorization: Bearer <token>" with the value of STRONGROOM_METRICS_TOKEN.');
      }
    } else if (!connectedFromLoopback(request)) {
      return reply.callNotFound();
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });

  app.get('/.well-known/strongroom-audit-key', { schema: { hide: true } }, async (_request, reply) => {
    return reply.type('text/plain; charset=utf-8').send(`${vault.audit.proofs.verifierKey}\n`);
  });
};

function presentsToken(request: FastifyRequest, token: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (!match) return false;
  // Equal-length digests, so the comparison takes the same time however much of the token is right.
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}

/** The connection itself comes from loopback and no proxy forwarded it: request.ip is not consulted. */
function connectedFromLoopback(request: FastifyRequest): boolean {
  const forwarded = request.headers['x-forwarded-for'] !== undefined || request.headers.forwarded !== undefined;
  return !forwarded && isLoopback(request.raw.socket.remoteAddress ?? '');
}

function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || /^127\.\d+\.\d+\.\d+$/.test(v4);
}

/**
 * `read` shared by every caller while one read is in progress, then read afresh: the gauges a scrape collects
 * together (prom-client asks them all at once) share one database read, and the next scrape reads again.
 */
export function oncePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null;
  return () => {
    running ??= read().finally(() => { running = null; });
    return running;
  };
}
