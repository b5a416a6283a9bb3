// Who started a request, as the browser says it (Fetch Metadata, `Sec-Fetch-Site`): the one reading of that
// header for every interface. A session cookie (SameSite=Lax) rides on a top-level navigation from any site,
// and a browser sends Basic credentials it has cached to any request for their address, so a request that
// would do something in the person's name is asked whose it is. Pure, in protocol/, so the web interface and
// WebDAV share it without importing each other.

/**
 * `this-site`: the browser says this origin sent it (`same-origin`), or the person did (`none`: typed,
 * bookmarked, opened from outside a browser). `another-site`: `cross-site`, `same-site` (a sibling
 * subdomain is another site too) or anything else it says. `unsaid`: no header, as from older browsers and
 * from every program that is not a browser (WebDAV clients, curl).
 */
export type RequestSender = 'this-site' | 'another-site' | 'unsaid';

export function requestSender(headers: Readonly<Record<string, string | string[] | undefined>>): RequestSender {
  const site = headers['sec-fetch-site'];
  if (site === undefined) return 'unsaid';
  return site === 'same-origin' || site === 'none' ? 'this-site' : 'another-site';
}

/** Whether the browser says the request is its own or the person's; not when it says nothing. */
export const startedHere = (headers: Readonly<Record<string, string | string[] | undefined>>): boolean => requestSender(headers) === 'this-site';
