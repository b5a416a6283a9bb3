// `strongroom org brand`: the operator sets an organisation's header brand from the command line (a
// PNG re-encoded, the change audited), a pale colour and an SVG are refused in words with a non-zero
// exit, a bare call shows the brand, and --reset brings the deployment's header back.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGO_REFUSALS } from '../../src/domain/branding/brand.js';
import { runCli } from '../support/cli.js';
import { useClamd } from '../support/fixture.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('org brand on %s', (dialect) => {
  let place: SharedVaultPlace;
  let dir: string;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-brand-');
    dir = await mkdtemp(path.join(tmpdir(), 'sr-cli-logo-'));
  });
  afterAll(async () => {
    await place?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('sets, shows, refuses in words and resets', { timeout: 300_000 }, async () => {
    let v = await place.open();
    const org = await createOrganisation(v.vault);
    await closeKeepingData(v);
    const run = (args: string[]) => runCli(['--data', place.dataDir, 'org', 'brand', '--org', org.slug, ...args], { env: place.env });
    const png = path.join(dir, 'logo.png');
    await writeFile(png, await sharp({ create: { width: 60, height: 30, channels: 3, background: '#00703c' } }).png().toBuffer());
    const svg = path.join(dir, 'logo.png.svg');
    await writeFile(svg, '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');

    const set = await run(['--name', 'Borsetshire Council', '--colour', '#0B0C0C', '--logo', png]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^Borsetshire Council\t#0b0c0c\timage\/png [0-9a-f]{64}\n$/);
    expect((await run([])).stdout).toBe(set.stdout);

    const pale = await run(['--colour', '#ffdd00']);
    expect(pale.code).toBe(1);
    expect(pale.stderr).toContain('strongroom: The header colour #ffdd00 is too light: white text on it has a contrast ratio of 1.34:1, and it must be at least 4.5:1 to be readable. Choose a darker colour.');
    const script = await run(['--logo', svg]);
    expect(script.code).toBe(1);
    expect(script.stderr).toContain(`strongroom: ${LOGO_REFUSALS.svg}`);
    expect((await run([])).stdout).toBe(set.stdout);

    const reset = await run(['--reset']);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toBe('-\t-\t-\n');
    v = await place.open();
    try {
      expect(await v.vault.store.repos.branding.get(org.id)).toBeUndefined();
      await v.vault.audit.sequencer.flush();
      const events = await v.vault.store.repos.audit.query({ organisationId: org.id, action: 'organisation.brand', limit: 10 });
      expect(events.map((e) => [e.decision, e.channel, e.targetIds.changed])).toEqual([['allow', 'cli', 'name+colour+logo'], ['allow', 'cli', 'reset']]);
    } finally {
      await closeKeepingData(v);
    }
  });
});
