// A file whose text carries terminal escape sequences (ESC, BEL, C1 CSI, a bare carriage return) must not
// drive the terminal of someone who searches it from the CLI: extraction keeps no control characters
// but tab and new line, and the CLI prints none, even from text indexed before that rule.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { runCli } from '../support/cli.js';
import { createOrganisation, openTestVault, upload } from '../support/vault.js';
import { canaryWord, drainJobs, searchAs, type SearchHitBody } from './support.js';
import { removeDataDir } from '../support/vault-dir.js';

const clamd = useClamd();
/** Any C0 or C1 control character but tab and line feed. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/u;

describe('control characters in extracted text', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await removeDataDir(dir);
  });

  it('are not stored, not in REST snippets, and never reach the CLI searcher\'s terminal', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'sr-search-ctl-'));
    dirs.push(dataDir);
    const [word, oldWord] = [canaryWord(), canaryWord()];
    const t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, dataDir });
    const org = await createOrganisation(t.vault);
    const member = await org.user({ teams: ['finance'] });
    // ESC passes the upload's text sniffing, and one BEL in a few hundred bytes does too.
    const filler = 'The committee noted the report. '.repeat(12);
    const hostile = `Minutes \u001b]0;owned\u0007of the \u001b[2J\u001b[31mmeeting ${word} \u009b0m closed\rSPOOFED line\n${filler}\n`;
    const uploaded = await upload(t.app, member, org.collections.finance!, 'minutes.txt', hostile);
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const id = uploaded.json().id as string;
    await drainJobs(t.vault);
    const res = await searchAs(t.app, member, { q: word });
    expect(res.statusCode).toBe(200);
    const hit = (res.json() as { hits: SearchHitBody[] }).hits[0]!;
    expect(hit.documentId).toBe(id);
    // Each control became a space and the carriage return a line break (a snippet folds runs of white space).
    const shown = `Minutes ]0;owned of the [2J [31mmeeting ${word} 0m closed SPOOFED line The committee`;
    expect(hit.snippet!.text.slice(0, shown.length)).toBe(shown);
    expect(hit.snippet!.text).not.toMatch(CONTROL);

    // Text indexed before extraction dropped control characters: the CLI still prints none.
    const other = (await upload(t.app, member, org.collections.finance!, 'older.txt', `Older ${oldWord}\n`)).json().id as string;
    await drainJobs(t.vault);
    const version = (await t.vault.store.repos.documents.byId(other))!.currentVersionId;
    await t.vault.store.repos.search.replaceDocument({
      organisationId: org.id, documentId: other, versionId: version, name: 'older.txt', type: 'text',
      sections: [{ page: null, text: `Older \u001b[2J\u001b]0;owned\u0007${oldWord}\u009b31m\rX` }],
    });
    await t.close();

    const env = { STRONGROOM_CLAMD: clamd.socketPath };
    const found = await runCli(['--data', dataDir, 'search', '--as', member.email, '--sort', 'date', `${word} OR ${oldWord}`], { env });
    expect(found.code, found.stderr).toBe(0);
    // One line per hit, and nothing a terminal would act on.
    const lines = found.stdout.trimEnd().split('\n');
    expect(lines.map((line) => line.split('\t')[0])).toEqual([other, id]);
    expect(lines[0]).toContain(`Older [2J ]0;owned ${oldWord} 31m X`);
    expect(lines[1]).toContain(`${word} 0m closed SPOOFED line`);
    expect(found.stdout.replace(/[\t\n]/g, '')).not.toMatch(CONTROL);
    expect(found.stderr).not.toMatch(/\u001b/);
    // --json: the same text, with C1 controls written as \u escapes rather than raw.
    const json = await runCli(['--data', dataDir, 'search', '--as', member.email, '--json', oldWord], { env });
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).not.toMatch(CONTROL);
    expect(JSON.parse(json.stdout).hits[0].snippet.text).toBe(`Older \u001b[2J\u001b]0;owned\u0007${oldWord}\u009b31m X`);
  });
});
