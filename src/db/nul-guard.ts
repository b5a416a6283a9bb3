// Refuses text containing U+0000 before it reaches the database, on both dialects alike.
// PostgreSQL cannot hold that character in text and fails the whole statement (an id such as
// "/documents/%00" became a 500); SQLite would quietly look it up. Either way it is bad input.
import type { KyselyPlugin } from 'kysely';
import { invalid } from '../domain/errors.js';

export function refuseNul(value: unknown): void {
  if (typeof value === 'string' && value.includes('\u0000')) {
    throw invalid('Text containing the NUL character (U+0000) is not accepted.');
  }
}

/**
 * Looks at every value in a query's tree and changes nothing. Every value Kysely sends is in a
 * ValueNode or a PrimitiveValueListNode (raw `sql` parameters included), so those are the only
 * nodes whose contents are read; a value itself (a Buffer, say) is never walked into. Reading the
 * tree in place, rather than rebuilding it with an OperationNodeTransformer, saves a copy of every
 * node of every statement (a measurable share of a small request's CPU: docs/performance.md).
 */
function inspect(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) inspect(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const kind = (node as { kind?: unknown }).kind;
  if (kind === 'ValueNode') return refuseNul((node as { value: unknown }).value);
  if (kind === 'PrimitiveValueListNode') return (node as { values: readonly unknown[] }).values.forEach(refuseNul);
  for (const key in node) {
    const child = (node as Record<string, unknown>)[key];
    if (typeof child === 'object' && child !== null) inspect(child);
  }
}

export const nulGuard: KyselyPlugin = {
  transformQuery: (args) => {
    inspect(args.node);
    return args.node;
  },
  transformResult: async (args) => args.result,
};
