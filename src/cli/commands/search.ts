// `strongroom search`: full-text search as a named person (their permissions apply; the search is
// audited like any other, with a keyed hash of the query, never the query itself).
import type { Command } from 'commander';
import { actorFor } from '../../services/identity.service.js';
import { SEARCH_MAX_PAGE } from '../../services/search.service.js';
import { output, say, withVault } from '../context.js';

export function registerSearchCommand(program: Command): void {
  program
    .command('search')
    .description('find documents by their words (and names) among those the person may read: one line each (document id, organisation, name, page, snippet)')
    .argument('<query>', 'words, "a phrase", prefix*, -exclusion, OR (docs/search.md)')
    .requiredOption('--as <email>', 'the person searching (their permissions apply)')
    .option('--page <n>', `page of 20 results, 1 to ${SEARCH_MAX_PAGE}`, '1')
    .option('--sort <order>', 'relevance or date', 'relevance')
    .option('--json', 'print the whole response (hits, facets) as JSON')
    .addHelpText('after', '\nExample: strongroom search --as officer@north.gov.uk "parking permit" -draft')
    .action(async (query: string, opts: { as: string; page: string; sort: string; json?: boolean }, command: Command) => {
      const response = await withVault(command, async (vault) => {
        const actor = actorFor(await vault.identity.userByEmail(opts.as), { channel: 'cli', clientAddress: null, requestId: null });
        const page = /^\d{1,4}$/.test(opts.page) ? Number(opts.page) : Number.NaN;
        return vault.search.search(actor, { q: query, filters: {}, sort: opts.sort as 'relevance', page }, 'cli');
      });
      if (opts.json) {
        output(JSON.stringify(response, null, 2));
        return;
      }
      say(`${response.total} result(s)${response.total > response.pageSize ? `; page ${response.page}` : ''}.`);
      for (const hit of response.hits) {
        output([hit.documentId, hit.organisation.name, hit.name, hit.page ?? '', (hit.snippet?.text ?? '').replace(/\s+/g, ' ')].join('\t'));
      }
    });
}
