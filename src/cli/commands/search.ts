// `strongroom search`: full-text search as a named person (their permissions apply; the search is
// audited like any other, with a keyed hash of the query, never the query itself).
import type { Command } from 'commander';
import { systemActor } from '../../services/identity.service.js';
import { actingAs } from '../acting-as.js';
import { SEARCH_MAX_PAGE } from '../../services/search.service.js';
import { output, say, withVault } from '../context.js';

/**
 * A field of a result line: document text is the uploader's, so nothing in it may act on the terminal
 * (escape sequences, carriage returns, bidirectional overrides) or break the one-line-per-hit format.
 * Extraction keeps no control characters, but text indexed before that rule, or a name, still passes here.
 */
function terminalSafe(text: string): string {
  return text.replace(/[\p{Cc}\u202a-\u202e\u2066-\u2069\s]+/gu, ' ');
}

const TERMINAL_UNSAFE_IN_JSON = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu;

export function registerSearchCommand(program: Command): void {
  const search = program
    .command('search')
    .description('find documents by their words (and names) among those the person may read: one line each (document id, organisation, name, page, snippet); "search reindex" queues extraction of documents not yet indexed')
    .argument('<query>', 'words, "a phrase", prefix*, -exclusion, OR (docs/search.md)')
    // Not a commander requiredOption: that would be asked of "search reindex" too, which runs as the system.
    .option('--as <email>', 'the person searching, required (their permissions apply)')
    .option('--page <n>', `page of 20 results, 1 to ${SEARCH_MAX_PAGE}`, '1')
    .option('--sort <order>', 'relevance or date', 'relevance')
    .option('--json', 'print the whole response (hits, facets) as JSON')
    .addHelpText('after', [
      '',
      'Text is extracted (OCR for scans) by the worker ("strongroom serve", any role but web) after a clean scan;',
      'a document is found once its extraction has run. Query syntax: words (all must match), "a phrase",',
      'prefix*, -exclusion, OR between alternatives; see docs/search.md. Matches are counted up to 1000:',
      'past that the count on stderr says "More than 1000 results" (--json: totalIsLowerBound true).',
      '',
      'Examples:',
      '  strongroom search --as officer@north.gov.uk "parking permit" -draft',
      '  strongroom search --as officer@north.gov.uk --json \'invoice* OR receipt\'',
      '  strongroom search reindex --failed          # queue documents whose text is pending or failed',
    ].join('\n'))
    .action(async (query: string, opts: { as?: string; page: string; sort: string; json?: boolean }, command: Command) => {
      const email = opts.as;
      if (email === undefined) command.error("error: required option '--as <email>' not specified");
      const response = await withVault(command, async (vault) => {
        // A person switched off is refused here (and the refusal audited), before anything is searched.
        const actor = await actingAs(vault, email, 'search.query');
        const page = /^\d{1,4}$/.test(opts.page) ? Number(opts.page) : Number.NaN;
        return vault.search.search(actor, { q: query, filters: {}, sort: opts.sort as 'relevance', page }, 'cli');
      });
      if (opts.json) {
        // JSON escapes C0 controls itself; C1 and bidirectional overrides it leaves raw, so escape them too.
        output(JSON.stringify(response, null, 2).replace(TERMINAL_UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
        return;
      }
      const count = response.totalIsLowerBound ? `More than ${response.total} results` : `${response.total} result(s)`;
      say(`${count}${response.total > response.pageSize ? `; page ${response.page}` : ''}.`);
      for (const hit of response.hits) {
        output([hit.documentId, hit.organisation.name, hit.name, hit.page ?? '', hit.snippet?.text ?? ''].map((field) => terminalSafe(String(field))).join('\t'));
      }
    });

  search
    .command('reindex')
    .description('queue text extraction for every current, readable version whose text is pending (stored before search existed, or never extracted), or failed too with --failed; the worker does the work. Audited once (search.reindex)')
    .option('--org <slug>', 'only this organisation\'s documents')
    .option('--failed', 'also those whose extraction failed (after an OCR or poppler outage, say)')
    .addHelpText('after', '\nRun it once after upgrading to a release with search, and after fixing an extraction outage; it is safe to run again (a version already queued is not queued twice).')
    .action(async (opts: { org?: string; failed?: boolean }, command: Command) => {
      const outcome = await withVault(command, (vault) => vault.search.reindex(systemActor(), { organisationSlug: opts.org, failed: opts.failed === true }));
      output(String(outcome.queued));
      say(`${outcome.queued} version(s) queued for text extraction${outcome.alreadyQueued > 0 ? `; ${outcome.alreadyQueued} already queued` : ''}. A running worker extracts them ("strongroom jobs failed" lists any that cannot be).`);
    });
}
