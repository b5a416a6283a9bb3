// Manual harness (not a test): starts a WebDAV server with one organisation and prints litmus arguments.
import { startTestClamd } from '../support/clamd.js';
import { createOrganisation, davUser, openDavServer } from './support.js';

const clamd = await startTestClamd();
const s = await openDavServer((process.env.DIALECT as 'sqlite' | 'postgres') ?? 'sqlite', clamd.socketPath);
const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
const user = await davUser(s.vault, org, { teams: ['finance'] });
console.log(`${s.base}/dav/${org.slug}/finance/ ${user.email} ${user.appPassword}`);
process.on('SIGTERM', async () => { await s.close(); await clamd.stop(); process.exit(0); });
