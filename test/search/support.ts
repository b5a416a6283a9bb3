// Helpers the search suites share: a unique canary word, draining the job queue, and searching over REST.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Vault } from '../../src/main.js';
import { auth } from '../support/vault.js';

/** A word no other test (or fixture) contains: letters and digits, one search term. */
export const canaryWord = (): string => `canary${randomUUID().replaceAll('-', '').slice(0, 16)}`;

/** Runs every due job until none is left (scans, extraction, renames, purges). */
export async function drainJobs(vault: Vault): Promise<void> {
  for (let round = 0; round < 50; round++) if ((await vault.worker.runDue()) === 0) return;
  throw new Error('the job queue did not drain in 50 rounds');
}

export interface SearchHitBody {
  documentId: string;
  versionId: string;
  name: string;
  page: number | null;
  snippet: { text: string; highlights: [number, number][] } | null;
  organisation: { id: string; name: string };
  collection: { id: string; name: string };
  thumbnail: boolean;
}

/** GET /api/v1/search as `user`; the raw response. */
export function searchAs(app: FastifyInstance, user: { token: string }, params: Record<string, string>) {
  return app.inject({ method: 'GET', url: `/api/v1/search?${new URLSearchParams(params).toString()}`, headers: auth(user) });
}

/** The document ids a search finds (asserting a 200). */
export async function foundIds(app: FastifyInstance, user: { token: string }, q: string): Promise<string[]> {
  const res = await searchAs(app, user, { q });
  if (res.statusCode !== 200) throw new Error(`search answered ${res.statusCode}: ${res.body}`);
  return (res.json() as { hits: SearchHitBody[] }).hits.map((h) => h.documentId);
}

/** The highlighted words of a snippet. */
export const highlighted = (snippet: { text: string; highlights: [number, number][] }): string[] => snippet.highlights.map(([s, e]) => snippet.text.slice(s, e));
