// Downloads recorded in the person's name, asked for by a GET. Another site can send a signed-in browser to
// a download address (a top-level navigation carries the SameSite=Lax session cookie): the file would land
// in the person's downloads, perhaps on a shared PC, and the audit log would say they downloaded it. So a GET
// downloads at once only when the browser says it is its own (a link on this site's pages) or the person's
// (an address typed or bookmarked); anything else, a browser that says nothing included, gets a question
// page naming what would be downloaded, whose Download button is a form with the CSRF token (a POST to the
// same address, which downloads). The reading of Sec-Fetch-Site is protocol/fetch-site.ts's.
// A redirect from this site is same-origin to the browser, so none of ours may end at a download: where to
// go after signing in (`next`, which another site can choose) that is a download is the document's page.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { startedHere } from '../../protocol/fetch-site.js';
import { render, type Ui } from './context.js';

/** What the question page offers. */
export interface DownloadOffer {
  /** What would be downloaded, by name. */
  name: string;
  /** A line under the name (which version), or null. */
  detail: string | null;
  /** Where the Download form posts. */
  action: string;
  /** Hidden fields the form carries besides the CSRF token. */
  fields: Record<string, string>;
  /** Where to go instead. */
  back: { href: string; text: string };
}

/**
 * Runs `download` when the browser says the request is its own or the person's. Otherwise asks `offer`,
 * which decides as the download itself does (so an id the person may not reach answers, and is audited,
 * exactly as the download would), and shows the question page: no content read, no download recorded.
 * A HEAD takes the same way, and records no download either way.
 */
export async function downloadOrAsk(ui: Ui, request: FastifyRequest, reply: FastifyReply, download: () => Promise<FastifyReply>, offer: () => Promise<DownloadOffer>): Promise<FastifyReply> {
  if (startedHere(request.headers)) return download();
  return render(ui, request, reply, 'download-question.njk', { offer: await offer() });
}

/** A download's address as the router would read it: dot segments resolved, `\\` as `/`, percent-decoded, any case, a trailing slash. */
const DOWNLOAD_PATH = /^\/documents\/([^/]+)\/download\/?$/i;

/**
 * Where a redirect from this site to `path` (a path on this site) should go instead, so that it never
 * downloads at once: a download's address becomes its document's page; an address that cannot be read
 * becomes the home page; any other is itself.
 */
export function landingInsteadOfDownload(path: string): string {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(path, 'http://strongroom.invalid').pathname);
  } catch {
    return '/';
  }
  const download = DOWNLOAD_PATH.exec(pathname);
  return download ? `/documents/${encodeURIComponent(download[1]!)}` : path;
}
