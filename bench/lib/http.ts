// A small HTTP client over node:http with keep-alive agents: streamed request bodies with
// backpressure, responses counted, hashed or collected, and a pool of concurrent clients.
import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: number;
  body: Buffer;
  sha256?: string;
}

export interface RequestOptions {
  method: string;
  path: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | Iterable<Buffer>;
  /** What to do with the response body: keep it (default), only count it, or hash it. */
  collect?: 'buffer' | 'count' | 'sha256';
  timeoutMs?: number;
}

export const keepAliveAgent = (maxSockets = 1): http.Agent => new http.Agent({ keepAlive: true, maxSockets });

export function request(base: URL, agent: http.Agent, o: RequestOptions): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, method: o.method, path: o.path, headers: o.headers, agent });
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`timed out: ${o.method} ${o.path}`)), o.timeoutMs ?? 60_000);
    req.on('error', fail);
    req.on('response', (res) => {
      const collect = o.collect ?? 'buffer';
      const hash = collect === 'sha256' ? createHash('sha256') : undefined;
      const parts: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (hash) hash.update(chunk);
        else if (collect === 'buffer') parts.push(chunk);
      });
      res.on('error', fail);
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, body: Buffer.concat(parts), ...(hash ? { sha256: hash.digest('hex') } : {}) });
      });
    });
    if (o.body === undefined) req.end();
    else if (Buffer.isBuffer(o.body)) req.end(o.body);
    else void writeAll(req, o.body).catch(fail);
  });
}

async function writeAll(req: http.ClientRequest, body: Iterable<Buffer>): Promise<void> {
  for (const chunk of body) {
    if (req.destroyed) return;
    if (!req.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          req.off('drain', done);
          req.off('close', done);
          resolve();
        };
        req.on('drain', done);
        req.on('close', done);
      });
    }
  }
  req.end();
}

/** Text of an error response, for messages. */
export const describe = (r: HttpResult): string => `HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 300)}`;

export interface PoolResult {
  seconds: number;
  done: number;
  errors: string[];
  /** The longest any one item took (a stall shows here when the rate alone would hide its cause). */
  slowestSeconds: number;
}

/**
 * Runs `work` once per item with `clients` concurrent clients, each its own keep-alive agent with
 * one socket (so each is one persistent connection, like a sync client).
 */
export async function runPool<T>(items: readonly T[], clients: number, work: (item: T, agent: http.Agent, index: number) => Promise<void>): Promise<PoolResult> {
  const agents = Array.from({ length: clients }, () => keepAliveAgent(1));
  let next = 0;
  let done = 0;
  const errors: string[] = [];
  let slowest = 0n;
  const started = process.hrtime.bigint();
  await Promise.all(
    agents.map(async (agent) => {
      for (;;) {
        const index = next++;
        if (index >= items.length) return;
        if (errors.length > 20) return; // something is badly wrong; stop rather than hammer on
        const itemStarted = process.hrtime.bigint();
        try {
          await work(items[index] as T, agent, index);
          done++;
        } catch (error) {
          errors.push(error instanceof Error ? error.message : String(error));
        }
        const took = process.hrtime.bigint() - itemStarted;
        if (took > slowest) slowest = took;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const agent of agents) agent.destroy();
  return { seconds, done, errors, slowestSeconds: Number(slowest) / 1e9 };
}

/** Seconds taken by `fn`, with its result. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, value };
}
