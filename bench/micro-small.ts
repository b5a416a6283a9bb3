import { startTestClamd } from '../test/support/clamd.js';
import { openTestVault, createOrganisation, upload, auth } from '../test/support/vault.js';
const clamd = await startTestClamd();
const inFlight = process.env.BENCH_CLIENTS ?? '4';
// Lift the per-account, per-client and per-organisation upload limits (default 4) to the clients in flight.
const t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, env: { STRONGROOM_UPLOADS_PER_ACCOUNT: inFlight, STRONGROOM_UPLOADS_PER_CLIENT: inFlight, STRONGROOM_UPLOADS_PER_ORGANISATION: inFlight } });
const org = await createOrganisation(t.vault);
const user = await org.user({ teams: ['payroll'] });
// In-process small-file rates (no sockets): BENCH_COUNT files of 4 KiB, BENCH_CLIENTS requests in flight.
const N = Number(process.env.BENCH_COUNT ?? 400); let i = 0; const ids: string[] = [];
const clients = Array.from({ length: Number(inFlight) }, (_, c) => c);
const body = Buffer.alloc(4096, 7);
let start = performance.now();
await Promise.all(clients.map(async () => { while (i < N) { const k = i++; const r = await upload(t.app, user, org.collections.payroll!, `f${k}.bin`, Buffer.concat([body, Buffer.from(String(k))])); if (r.statusCode !== 201) throw new Error(r.body); ids.push(r.json().id); } }));
console.log('uploads/s', (N / ((performance.now() - start) / 1000)).toFixed(0));
i = 0; start = performance.now();
await Promise.all(clients.map(async () => { while (i < N) { const k = i++; const r = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${ids[k]}/content`, headers: auth(user) }); if (r.statusCode !== 200) throw new Error(r.body); } }));
console.log('downloads/s', (N / ((performance.now() - start) / 1000)).toFixed(0));
await t.close(); await clamd.stop();
