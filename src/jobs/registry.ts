// The job registry: one handler per job kind, checked when it is built (every kind in
// domain/jobs/kinds.ts has exactly one handler) and at start-up (every queued kind is handled).
import type { AnyJobDefinition, JobDefinition } from '../domain/jobs/define-job.js';
import { JOB_KINDS } from '../domain/jobs/kinds.js';
import type { JobCompletion } from '../domain/jobs/repositories.js';

export interface JobContext {
  jobId: number;
  /** 1 on the first run. */
  attempt: number;
  /** Aborted when the worker lost the job's lease (another worker may be running it now). */
  signal: AbortSignal;
  /**
   * Marks the job done inside the handler's last transaction, with its result (domain/jobs/repositories.ts).
   * A handler that does not call it is completed by the worker when it returns.
   */
  complete: JobCompletion;
}

export interface JobHandler<P> {
  readonly definition: JobDefinition<P>;
  /** Must be idempotent: a job may run again after a crash or a lost lease. */
  run(payload: P, context: JobContext): Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers of different payloads in one list
export type AnyJobHandler = JobHandler<any>;

/** Binds a handler to its kind; the payload it receives is the kind's validated payload type. */
export function handle<P>(definition: JobDefinition<P>, run: (payload: P, context: JobContext) => Promise<unknown>): JobHandler<P> {
  return { definition, run: async (payload, context) => void (await run(payload, context)) };
}

export class JobRegistryError extends Error {
  constructor(readonly problems: string[]) {
    super(`The job registry is incomplete:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'JobRegistryError';
  }
}

export class JobRegistry {
  private readonly byKind = new Map<string, AnyJobHandler>();

  /** Throws JobRegistryError when a kind in `kinds` has no handler, or a handler has no kind or a twin. */
  constructor(handlers: readonly AnyJobHandler[], kinds: readonly AnyJobDefinition[] = JOB_KINDS) {
    const problems: string[] = [];
    const known = new Set(kinds.map((k) => k.kind));
    for (const handler of handlers) {
      const kind = handler.definition.kind;
      if (this.byKind.has(kind)) problems.push(`job kind "${kind}" has two handlers`);
      if (!known.has(kind)) problems.push(`a handler is registered for "${kind}", which is not a defined job kind (add it to domain/jobs/kinds.ts)`);
      this.byKind.set(kind, handler);
    }
    for (const kind of known) if (!this.byKind.has(kind)) problems.push(`job kind "${kind}" has no handler`);
    if (problems.length > 0) throw new JobRegistryError(problems);
  }

  get(kind: string): AnyJobHandler | undefined {
    return this.byKind.get(kind);
  }

  get kinds(): string[] {
    return [...this.byKind.keys()].sort();
  }

  /** Queued or running kinds (from the table) that no handler here runs; start-up refuses when any. */
  unhandled(liveKinds: readonly string[]): string[] {
    return liveKinds.filter((kind) => !this.byKind.has(kind));
  }
}
