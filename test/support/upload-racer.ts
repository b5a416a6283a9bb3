// A second (third…) process for the upload-limit race tests: opens the same database as the test,
// says "ready", and on "go" asks for RACER_ATTEMPTS upload slots at once; it prints what it got as
// one JSON line, and on "release" gives its slots back and exits. Run with the tsx loader.
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { systemClock } from '../../src/domain/ports.js';
import type { Actor } from '../../src/domain/types.js';
import { openPostgres, openSqlite } from '../../src/db/kysely.js';
import { Store } from '../../src/db/store.js';
import { UploadAdmission, type UploadLease } from '../../src/services/upload-admission.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const handle = process.env.RACER_PG_URL
  ? openPostgres(process.env.RACER_PG_URL, 4)
  : openSqlite({ file: env('RACER_SQLITE_FILE'), key: Buffer.from(env('RACER_SQLITE_KEY'), 'hex') });
const store = new Store(handle, randomBytes(32));
const admission = new UploadAdmission(JSON.parse(env('RACER_LIMITS')), { store, clock: systemClock });
/** RACER_PEOPLE: JSON [{ userId, clientAddress }] — one attempt each, all into RACER_ORGANISATION. */
const people = JSON.parse(env('RACER_PEOPLE')) as { userId: string; clientAddress: string }[];
const organisationId = env('RACER_ORGANISATION');
const actor = (p: { userId: string; clientAddress: string }): Actor => ({
  kind: 'user', userId: p.userId, organisationId, roles: ['member'], teams: [], clearance: 'OFFICIAL', channel: 'api', clientAddress: p.clientAddress, requestId: null,
});

const leases: UploadLease[] = [];
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  void (async () => {
    if (line === 'go') {
      const settled = await Promise.allSettled(people.map((p) => admission.admit(actor(p), organisationId)));
      const refused: string[] = [];
      const failed: string[] = [];
      for (const s of settled) {
        if (s.status === 'fulfilled') leases.push(s.value);
        else if ((s.reason as { code?: string }).code === 'RATE_LIMITED') refused.push(String((s.reason as { details: { limit: string } }).details.limit));
        else failed.push(String(s.reason));
      }
      process.stdout.write(`${JSON.stringify({ admitted: leases.length, refused, failed })}\n`);
    } else if (line === 'release') {
      await Promise.all(leases.map((lease) => lease.release()));
      await store.close();
      process.exit(0);
    }
  })();
});
process.stdout.write('ready\n');
