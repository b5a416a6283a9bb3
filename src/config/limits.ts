// The resource limits' defaults and value schemas (sizes, counts, rates), and the checks that hold
// them together: no share larger than its whole, scan segments that fit clamd, deadlines in order.
import { z } from 'zod';
import type { Config } from './config.js';
import { ENV_NAMES } from './env-names.js';

const MIB = 1024 * 1024;
/** 64 MiB held the whole working set of a 100,000-document search index; 32 MiB did not (performance.md). */
export const SQLITE_CACHE_DEFAULT_MIB = 64;
/**
 * The main connection's page cache. It no longer walks the index for a query (the search reader
 * does); on a vault of 20,000 indexed documents, 2 MiB cost its uploads, compaction and listings
 * nothing measurable against 64 and took 44-94 MB off the server's peak (performance.md, "The main
 * connection's page cache on a large vault").
 */
export const SQLITE_MAIN_CACHE_DEFAULT_MIB = 2;
export const SCAN_WHOLE_DEFAULT_BYTES = 128 * MIB;
const SCAN_WHOLE_MIN_BYTES = MIB;
const SCAN_WHOLE_MAX_BYTES = 1023 * MIB;
const SCAN_OVERLAP_MIN_BYTES = 4096;

export const sizeSchema = z.coerce.number({ error: 'must be a number of bytes' }).int('must be a whole number').positive('must be more than 0');
export const countSchema = z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').positive('must be more than 0');
export const rateSchema = z.coerce.number({ error: 'must be a number of bytes a second' }).int('must be a whole number').min(0, 'must be 0 (no minimum) or more');

/** A share larger than the whole would let one party take everything, which the limits exist to stop. */
export function shareProblems(c: Config): string[] {
  const problems: string[] = [];
  const within = (part: keyof typeof c, whole: keyof typeof c): void => {
    if ((c[part] as number) > (c[whole] as number)) problems.push(`${ENV_NAMES[part]}: must not be more than ${ENV_NAMES[whole]} (${String(c[whole])})`);
  };
  within('uploadsPerAccount', 'uploadsPerOrganisation');
  within('uploadsPerClient', 'uploadsTotal');
  within('uploadsPerOrganisation', 'uploadsTotal');
  within('searchMsPerPerson', 'searchMsPerOrganisation');
  within('scanStreamsPerAccount', 'scanStreamsPerOrganisation');
  within('scanStreamsPerOrganisation', 'scanStreamsTotal');
  // A scan job's stream is counted in the total like an upload's, but in no organisation's share: as many jobs as
  // streams (one council's backlog of large files is enough to keep them busy) would leave none for any upload's
  // scan before its answer, so every upload would be answered unscanned and wait in the lane behind them.
  if (c.scanStreamsTotal > 1 && c.scanJobsAtOnce >= c.scanStreamsTotal) {
    problems.push(`${ENV_NAMES.scanJobsAtOnce}: must be less than ${ENV_NAMES.scanStreamsTotal} (${c.scanStreamsTotal}), or the scan jobs could hold every scanner stream, and no upload would be scanned before it is answered`);
  } else {
    within('scanJobsAtOnce', 'scanStreamsTotal');
  }
  if (c.scanWholeMaxBytes < SCAN_WHOLE_MIN_BYTES || c.scanWholeMaxBytes > SCAN_WHOLE_MAX_BYTES) {
    problems.push(`${ENV_NAMES.scanWholeMaxBytes}: must be from 1 MiB to 1023 MiB (our clamd may unpack twice this from one stream, and clamd cannot scan past 2 GiB)`);
  } else if (c.scanSegmentOverlapBytes < SCAN_OVERLAP_MIN_BYTES || c.scanSegmentOverlapBytes * 4 > c.scanWholeMaxBytes) {
    problems.push(`${ENV_NAMES.scanSegmentOverlapBytes}: must be from 4 KiB to a quarter of ${ENV_NAMES.scanWholeMaxBytes} (${c.scanWholeMaxBytes / 4} bytes)`);
  }
  // Bodies have their own, shorter deadlines (the slow-body guard waits the upload idle time and 5 s
  // more), and they must come first: a body's 408 would otherwise be a bare close.
  if (c.connectionIdleSeconds < c.uploadIdleSeconds + 10) {
    problems.push(`${ENV_NAMES.connectionIdleSeconds}: must be at least ${ENV_NAMES.uploadIdleSeconds} + 10 (${c.uploadIdleSeconds + 10}), so a stalled request body is answered before its connection is closed`);
  }
  if (c.scanStreamsPerOrganisation === c.scanStreamsTotal && c.scanStreamsTotal > 1) {
    problems.push(`${ENV_NAMES.scanStreamsPerOrganisation}: must be less than ${ENV_NAMES.scanStreamsTotal}, or one organisation could take every scanner stream`);
  }
  return problems;
}
