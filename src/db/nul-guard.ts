// Refuses text containing U+0000 before it reaches the database, on both dialects alike.
// PostgreSQL cannot hold that character in text and fails the whole statement (an id such as
// "/documents/%00" became a 500); SQLite would quietly look it up. Either way it is bad input.
import { OperationNodeTransformer, type KyselyPlugin, type PrimitiveValueListNode, type QueryId, type ValueNode } from 'kysely';
import { invalid } from '../domain/errors.js';

function refuseNul(value: unknown): void {
  if (typeof value === 'string' && value.includes('\u0000')) {
    throw invalid('Text containing the NUL character (U+0000) is not accepted.');
  }
}

class NulGuard extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode, queryId?: QueryId): ValueNode {
    refuseNul(node.value);
    return super.transformValue(node, queryId);
  }

  protected override transformPrimitiveValueList(node: PrimitiveValueListNode, queryId?: QueryId): PrimitiveValueListNode {
    node.values.forEach(refuseNul);
    return super.transformPrimitiveValueList(node, queryId);
  }
}

export const nulGuard: KyselyPlugin = {
  transformQuery: (args) => new NulGuard().transformNode(args.node, args.queryId),
  transformResult: async (args) => args.result,
};
