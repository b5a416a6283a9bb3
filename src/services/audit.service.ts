// The audit log service: sequences events into the Merkle tree, signs checkpoints (also written
// offsite), verifies the whole log, exports an organisation's proofs, and answers audit queries.
import { mkdir, open, readFile, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { buildBundle, type AuditBundle } from '../domain/audit/bundle.js';
import type { AuditEvent } from '../domain/audit/event.js';
import { eventLeafHash } from '../domain/audit/event.js';
import { CompactRange, treeRoot, type SubtreeHashes } from '../domain/audit/merkle.js';
import { openCheckpoint, signCheckpoint } from '../domain/audit/signed-note.js';
import { verifyLog, type LogCheck } from '../domain/audit/verify-log.js';
import { notFound } from '../domain/errors.js';
import type { Clock } from '../domain/ports.js';
import type { Actor } from '../domain/types.js';
import type { AuditQuery } from '../db/repos/audit.repo.js';
import type { Repos, Store } from '../db/store.js';
import type { AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';

export interface AuditServiceOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
  origin: string;
  signerKey: string;
  verifierKey: string;
  /** Where checkpoints are copied so a rewritten or rolled-back database is caught. */
  offsiteDir: string;
  checkpointEvents: number;
  checkpointSeconds: number;
}

const INTEGRATE_BATCH = 2000;

export class AuditService {
  private integrating: Promise<number> | null = null;
  private lastCheckpointAt = 0;
  private sinceCheckpoint = 0;

  constructor(private readonly o: AuditServiceOptions) {}

  get verifierKey(): string {
    return this.o.verifierKey;
  }

  /** Sequences pending events into the tree; one run at a time per process, and per database on PostgreSQL. */
  integrate(): Promise<number> {
    this.integrating ??= this.integrateAll().finally(() => {
      this.integrating = null;
    });
    return this.integrating;
  }

  private async integrateAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.integrateBatch();
      total += n;
      this.sinceCheckpoint += n;
      if (n < INTEGRATE_BATCH) break;
    }
    await this.checkpointIfDue();
    return total;
  }

  private async integrateBatch(): Promise<number> {
    return this.o.store.transaction(async (repos) => {
      await repos.audit.lockSequencer();
      const pending = await repos.audit.unsequenced(INTEGRATE_BATCH);
      if (pending.length === 0) return 0;
      const size = await repos.audit.treeSize();
      const tree = await CompactRange.load(size, subtreesOf(repos));
      const nodes: { level: number; index: number; hash: Buffer }[] = [];
      for (const row of pending) {
        const seq = tree.size;
        const event: AuditEvent = {
          seq, time: row.time, actorUserId: row.actor_user_id, actorOrganisationId: row.actor_organisation_id, action: row.action,
          targetOrganisationId: row.target_organisation_id, targetIds: JSON.parse(row.target_ids) as Record<string, string>,
          decision: row.decision as 'allow' | 'deny', reason: row.reason, arrangementId: row.arrangement_id, channel: row.channel,
          clientAddress: row.client_address, requestId: row.request_id,
        };
        const leaf = eventLeafHash(event);
        for (const [level, index, hash] of tree.append(leaf)) nodes.push({ level, index, hash });
        await repos.audit.assignSeq(Number(row.id), seq, leaf);
      }
      for (let i = 0; i < nodes.length; i += 500) await repos.audit.putNodes(nodes.slice(i, i + 500));
      await repos.audit.setTreeSize(tree.size);
      return pending.length;
    });
  }

  /** Signs a checkpoint when N events or T seconds have passed since the last one (or when forced). */
  async checkpointIfDue(force = false): Promise<string | null> {
    const now = this.o.clock.now().getTime();
    const due = force || this.sinceCheckpoint >= this.o.checkpointEvents || now - this.lastCheckpointAt >= this.o.checkpointSeconds * 1000;
    if (!due) return null;
    const repos = this.o.store.repos;
    const size = await repos.audit.treeSize();
    const latest = await repos.audit.latestCheckpoint();
    if (latest && latest.treeSize >= size) {
      this.lastCheckpointAt = now;
      return null;
    }
    const root = await treeRoot(size, subtreesOf(repos));
    const note = signCheckpoint({ origin: this.o.origin, treeSize: size, rootHash: root }, this.o.signerKey);
    await repos.audit.insertCheckpoint({ treeSize: size, rootHash: root, note, createdAt: new Date(now).toISOString() });
    await this.writeOffsite(size, note);
    this.lastCheckpointAt = now;
    this.sinceCheckpoint = 0;
    return note;
  }

  /** Integrates everything pending and signs a checkpoint covering it (used by the CLI and tests). */
  async flush(): Promise<void> {
    await this.integrate();
    await this.checkpointIfDue(true);
  }

  private offsitePath(): string {
    return path.join(this.o.offsiteDir, 'audit-checkpoints');
  }

  private async writeOffsite(size: number, note: string): Promise<void> {
    const dir = this.offsitePath();
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `${String(size).padStart(12, '0')}.note`);
    const temp = `${file}.tmp`;
    const handle = await open(temp, 'w', 0o644);
    try {
      await handle.writeFile(note);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  }

  private async newestOffsiteCheckpoint(): Promise<string | undefined> {
    let names: string[];
    try {
      names = (await readdir(this.offsitePath())).filter((n) => n.endsWith('.note')).sort();
    } catch {
      return undefined;
    }
    const newest = names.at(-1);
    return newest ? readFile(path.join(this.offsitePath(), newest), 'utf8') : undefined;
  }

  /**
   * Recomputes the whole tree from the stored events, checks every checkpoint, and compares the
   * newest offsite checkpoint: a database restored behind it, or rewritten under it, is caught.
   */
  async verify(): Promise<LogCheck & { offsite: 'matched' | 'absent' | 'mismatch' }> {
    const repos = this.o.store.repos;
    const checkpoints = await repos.audit.checkpoints();
    const offsiteNote = await this.newestOffsiteCheckpoint();
    let offsiteCheckpoint: { treeSize: number; note: string } | undefined;
    if (offsiteNote) {
      const cp = openCheckpoint(offsiteNote, this.o.verifierKey, this.o.origin);
      offsiteCheckpoint = { treeSize: cp.treeSize, note: offsiteNote };
    }
    const all = offsiteCheckpoint && !checkpoints.some((c) => c.note === offsiteCheckpoint.note) ? [...checkpoints, offsiteCheckpoint] : checkpoints;
    const leafHashes = new Map<number, Buffer>();
    async function* events() {
      for await (const { event, leafHash } of repos.audit.sequenced()) {
        if (leafHash) {
          leafHashes.set(event.seq, leafHash);
          if (leafHashes.size > 10_000) leafHashes.delete(leafHashes.keys().next().value as number);
        }
        yield event;
      }
    }
    let result: LogCheck = await verifyLog(events(), all, this.o.verifierKey, async (seq) => leafHashes.get(seq), { origin: this.o.origin });
    // Read after the events, so concurrent sequencing can only make it larger: an event numbered
    // beyond the sequencer's tree was never sequenced (written straight into the database).
    const sequencedSize = await repos.audit.treeSize();
    if (result.ok && result.treeSize > sequencedSize) {
      result = { ok: false, firstBadSeq: sequencedSize, problem: `Events from seq ${sequencedSize} to ${result.treeSize - 1} carry sequence numbers the sequencer never assigned (its tree has ${sequencedSize} events): they were written into the database directly.` };
    }
    const offsite = !offsiteCheckpoint ? 'absent' : result.ok ? 'matched' : 'mismatch';
    return { ...result, offsite };
  }

  /** An organisation's events with inclusion proofs against the newest checkpoint, for offline checking. */
  async exportOrganisation(actor: Actor, organisationId: string, options: { sinceSize?: number } = {}): Promise<AuditBundle> {
    // The export itself is an event, and is in the bundle it produces.
    await this.o.store.repos.audit.insert([auditEvent(actor, 'audit.export', { organisationId, ids: { organisationId } }, { allow: true, reason: actor.kind, via: null }, this.o.clock.now())]);
    await this.flush();
    const repos = this.o.store.repos;
    const latest = await repos.audit.latestCheckpoint();
    if (!latest) throw notFound('checkpoint');
    const events = (await repos.audit.forOrganisation(organisationId)).filter((e) => e.seq < latest.treeSize);
    const earlier = (await repos.audit.checkpoints()).filter((c) => c.treeSize < latest.treeSize && c.treeSize > 0).slice(-20).map((c) => c.note);
    return buildBundle({
      organisationId,
      checkpoint: latest.note,
      verifierKey: this.o.verifierKey,
      events,
      subtrees: subtreesOf(repos),
      earlierCheckpoints: earlier,
      consistencyFromSizes: options.sinceSize ? [options.sinceSize] : [],
    });
  }

  async latestCheckpoint(actor: Actor): Promise<{ treeSize: number; note: string; createdAt: string }> {
    await this.authorizeOrganisation(actor, 'audit.checkpoints');
    const latest = await this.o.store.repos.audit.latestCheckpoint();
    if (!latest) throw notFound('checkpoint');
    return latest;
  }

  async checkpointsSince(actor: Actor, afterSize: number): Promise<{ treeSize: number; note: string; createdAt: string }[]> {
    await this.authorizeOrganisation(actor, 'audit.checkpoints');
    return (await this.o.store.repos.audit.checkpoints()).filter((c) => c.treeSize > afterSize);
  }

  async search(actor: Actor, query: Omit<AuditQuery, 'organisationId'>): Promise<AuditEvent[]> {
    const organisationId = await this.authorizeOrganisation(actor, 'audit.read');
    await this.integrate();
    return this.o.store.repos.audit.query({ ...query, organisationId });
  }

  private async authorizeOrganisation(actor: Actor, action: 'audit.read' | 'audit.checkpoints'): Promise<string> {
    const organisationId = actor.organisationId ?? '';
    await this.o.access.require(actor, action, { kind: 'organisation', organisationId }, { organisationId, ids: {} });
    return organisationId;
  }
}

export function subtreesOf(repos: Repos): SubtreeHashes {
  return {
    hash: async (level, index) => {
      const hash = await repos.audit.node(level, index);
      if (!hash) throw new Error(`audit tree node ${level}/${index} is missing`);
      return hash;
    },
  };
}
