// How many write-ahead-log syncs the group commit makes for BENCH_COUNT 4 KiB uploads and as many
// downloads with BENCH_CLIENTS requests in flight (in-process, SQLite): without group commit each
// commit was its own fsync on the event loop, so syncs per request is what concurrency saves.
import { fdatasyncFile } from '../src/db/group-commit.js';
import { startTestClamd } from '../test/support/clamd.js';
import { auth, createOrganisation, openTestVault, upload } from '../test/support/vault.js';

const clamd = await startTestClamd();
const inFlight = process.env.BENCH_CLIENTS ?? '4';
let syncs = 0;
const t = await openTestVault({
  dialect: 'sqlite', clamdSocket: clamd.socketPath,
  env: { STRONGROOM_UPLOADS_PER_ACCOUNT: inFlight, STRONGROOM_UPLOADS_PER_CLIENT: inFlight, STRONGROOM_UPLOADS_PER_ORGANISATION: inFlight },
  syncDatabaseLog: async (file) => {
    syncs += 1;
    await fdatasyncFile(file);
  },
});
const org = await createOrganisation(t.vault);
const user = await org.user({ teams: ['payroll'] });
const N = Number(process.env.BENCH_COUNT ?? 400);
const clients = Array.from({ length: Number(inFlight) }, (_, c) => c);
const body = Buffer.alloc(4096, 7);
const ids: string[] = [];
let i = 0;
let before = syncs;
let start = performance.now();
await Promise.all(clients.map(async () => {
  while (i < N) {
    const k = i++;
    const r = await upload(t.app, user, org.collections.payroll!, `f${k}.bin`, Buffer.concat([body, Buffer.from(String(k))]));
    if (r.statusCode !== 201) throw new Error(r.body);
    ids.push((r.json() as { id: string }).id);
  }
}));
console.log(`uploads/s ${(N / ((performance.now() - start) / 1000)).toFixed(0)} syncs/upload ${((syncs - before) / N).toFixed(2)}`);
i = 0;
before = syncs;
start = performance.now();
await Promise.all(clients.map(async () => {
  while (i < N) {
    const k = i++;
    const r = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${ids[k]}/content`, headers: auth(user) });
    if (r.statusCode !== 200) throw new Error(r.body);
  }
}));
console.log(`downloads/s ${(N / ((performance.now() - start) / 1000)).toFixed(0)} syncs/download ${((syncs - before) / N).toFixed(2)}`);
await t.close();
await clamd.stop();
