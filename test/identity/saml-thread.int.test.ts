// The SAML reply URL checks answers on a thread of its own, on both dialects: another request is answered
// while a large signed answer is being checked, an answer past the thread's time limit or its heap is refused
// (timeout or too_large, audited) and the next sign-in works on a fresh thread, and an idle thread is ended.
import type { AddressInfo } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { SAML_CHECKS_BUSY, SAML_LIMITS, SAML_REFUSALS, type SamlProtocol } from '../../src/domain/identity/saml.js';
import { NodeSamlProtocol } from '../../src/integrations/saml/node-saml.protocol.js';
import { SAML_THREAD_LIMITS } from '../../src/integrations/saml/saml-verify-worker.js';
import { SAML_CHECK_LIMITS } from '../../src/services/saml-sign-in.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS } from '../support/vault.js';
import { ENTRA_EMAIL, makeIdp, signedResponse, type AssertionSpec, type TestIdp } from './saml-idp.js';
import { SAML_ENV, answerSpec, samlMember, escapeHtml, expectRefused, postResponse, startSignIn, type Started } from './saml-flow.js';

const clamd = useClamd();
let idp: TestIdp;
beforeAll(() => {
  idp = makeIdp('council');
});

describe.each(DIALECTS)('the SAML thread on %s', (dialect) => {
  // The test's own limits object: it shortens the time limit and the idle time for one test at a time.
  const limits = { ...SAML_THREAD_LIMITS };
  const protocol = new NodeSamlProtocol(SAML_LIMITS, limits);
  /** Each check waits for `held` (set by a test), its start calls `onCheck` (set by a test), and its end is recorded in `events`. */
  let held: Promise<void> | undefined;
  let onCheck: (() => void) | undefined;
  const events: string[] = [];
  const watched: SamlProtocol = {
    requestUrl: (...args) => protocol.requestUrl(...args),
    metadata: (...args) => protocol.metadata(...args),
    close: () => protocol.close(),
    verify: async (...args) => {
      await held;
      const checked = protocol.verify(...args);
      onCheck?.();
      return checked.finally(() => events.push('checked'));
    },
  };
  const t = useTestVault(dialect, clamd, { env: SAML_ENV, listen: true, samlProtocol: watched });
  let member: Awaited<ReturnType<typeof samlMember>>;
  /** Members of other organisations, each with its own provider: enough to fill the queue within each one's share. */
  let others: Awaited<ReturnType<typeof samlMember>>[];
  beforeAll(async () => {
    member = await samlMember(t.vault, idp);
    others = [];
    for (let i = 0; i < 4; i++) others.push(await samlMember(t.vault, idp));
  });
  const spec = (started: Started, patch: Partial<AssertionSpec> = {}, who = member): AssertionSpec => answerSpec(who.provider, who.email, started, patch);
  /** A signed answer near the size limit: 2,000 groups as Okta sends them (about half a second of the library's work, or more). */
  const large = (started: Started) => signedResponse(idp, spec(started, { typedValues: true, attributes: { [ENTRA_EMAIL]: [member.email], groups: Array.from({ length: 2000 }, (_, i) => `Council Staff Group ${i}`) } }));
  /** The answer refused busy: 503, Retry-After, the busy sentence, and the first organisation's last refusal audited busy. */
  async function expectBusy(busy: LightMyRequestResponse): Promise<void> {
    expect(busy.headers['retry-after']).toBe('5');
    expect(busy.body).toContain(`<p class="govuk-body" id="refusal">${escapeHtml(SAML_CHECKS_BUSY)}</p>`);
    const [event] = await t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'auth.sign-in')
      .where('target_organisation_id', '=', member.org.id).where('decision', '=', 'deny').orderBy('id', 'desc').limit(1).execute();
    expect(event?.reason).toBe(`saml:${member.provider.id};busy`);
  }
  async function signsIn(): Promise<void> {
    const started = await startSignIn(t.app, member.provider.id);
    const res = await postResponse(t.app, member.provider.id, signedResponse(idp, spec(started)), started.cookies);
    expect(res.statusCode, res.body).toBe(303);
  }

  it('starts no thread before the first SAML answer, and checks answers on one', async () => {
    expect(protocol.thread.threads).toBe(0);
    await signsIn();
    expect(protocol.thread.threads).toBe(1);
  });

  it('answers another request while a large signed answer is being checked', async () => {
    await signsIn(); // the library is loaded wherever it runs, so the check below is the library's work alone
    const { port } = t.app.server.address() as AddressInfo;
    let answered: Promise<void> | undefined;
    onCheck = () => {
      answered = fetch(`http://127.0.0.1:${port}/healthz`).then(async (res) => {
        expect(await res.json()).toEqual({ status: 'ok' });
        events.push('answered');
      });
    };
    events.length = 0;
    try {
      const started = await startSignIn(t.app, member.provider.id);
      const res = await postResponse(t.app, member.provider.id, large(started), started.cookies);
      expect(res.statusCode, res.body).toBe(303);
      await answered;
    } finally {
      onCheck = undefined;
    }
    expect(events).toEqual(['answered', 'checked']);
  });

  it('refuses an answer checked past the time limit (timeout, audited), and the next sign-in works on a fresh thread', async () => {
    await signsIn();
    limits.timeLimitMs = 1;
    try {
      const started = await startSignIn(t.app, member.provider.id);
      const res = await postResponse(t.app, member.provider.id, large(started), started.cookies);
      expect(await expectRefused(t.vault, res, SAML_REFUSALS.timeout, member.org.id)).toBe(`saml:${member.provider.id};timeout`);
    } finally {
      limits.timeLimitMs = SAML_THREAD_LIMITS.timeLimitMs;
    }
    await signsIn();
  });

  it('refuses an answer whose check runs the thread out of memory (too_large, audited), and the next sign-in works on a fresh thread', async () => {
    // The heap limit is the thread's, set when it starts: end the running one, and the next starts with a heap
    // the library loads in and checks an ordinary answer in (12 MB here; it does not load in 8), but the large
    // answer's check outgrows (it fits in 24).
    limits.idleMs = 0;
    await signsIn();
    await vi.waitFor(() => expect(protocol.thread.threads).toBe(0), { timeout: 10_000 });
    limits.idleMs = SAML_THREAD_LIMITS.idleMs;
    limits.memoryMb = 12;
    try {
      await signsIn();
      expect(protocol.thread.threads).toBe(1);
      const started = await startSignIn(t.app, member.provider.id);
      const res = await postResponse(t.app, member.provider.id, large(started), started.cookies);
      expect(await expectRefused(t.vault, res, SAML_REFUSALS.too_large, member.org.id)).toBe(`saml:${member.provider.id};too_large`);
    } finally {
      limits.memoryMb = SAML_THREAD_LIMITS.memoryMb;
    }
    await vi.waitFor(() => expect(protocol.thread.threads).toBe(0), { timeout: 10_000 });
    await signsIn();
    expect(protocol.thread.threads).toBe(1);
  });

  it('ends the thread once it is idle, and starts another for the next answer', async () => {
    limits.idleMs = 0;
    try {
      await signsIn();
      await vi.waitFor(() => expect(protocol.thread.threads).toBe(0), { timeout: 10_000 });
    } finally {
      limits.idleMs = SAML_THREAD_LIMITS.idleMs;
    }
    await signsIn();
    expect(protocol.thread.threads).toBe(1);
  });

  it('answers busy (503, Retry-After, audited) an answer beyond the sixteen waiting behind the one being checked', async () => {
    let release!: () => void;
    held = new Promise((resolve) => { release = resolve; });
    const sent: Promise<{ res: LightMyRequestResponse }>[] = [];
    let settled = 0;
    try {
      // Spread over organisations, none beyond its share (the last answer is the first organisation's).
      const everyone = [...others, member];
      for (let i = 0; i < SAML_CHECK_LIMITS.running + SAML_CHECK_LIMITS.waiting + 1; i++) {
        const who = everyone[Math.floor(i / SAML_CHECK_LIMITS.perOrganisation)] ?? member;
        const started = await startSignIn(t.app, who.provider.id);
        sent.push(postResponse(t.app, who.provider.id, signedResponse(idp, spec(started, {}, who)), started.cookies).then((res) => { settled++; return { res }; }));
      }
      // The one beyond the queue is answered at once; the others wait for the check being held.
      await vi.waitFor(() => expect(settled).toBe(1));
    } finally {
      release();
      held = undefined;
    }
    const answers = (await Promise.all(sent)).map(({ res }) => res);
    expect(answers.map((res) => res.statusCode).sort()).toEqual([...Array(SAML_CHECK_LIMITS.running + SAML_CHECK_LIMITS.waiting).fill(303), 503]);
    await expectBusy(answers.find((res) => res.statusCode === 503)!);
  });

  it('answers busy an organisation\'s answer beyond its share of the queue, and another organisation\'s answer still waits its turn', async () => {
    let release!: () => void;
    held = new Promise((resolve) => { release = resolve; });
    const sent: Promise<LightMyRequestResponse>[] = [];
    let settled = 0;
    let other: Promise<LightMyRequestResponse>;
    try {
      // A flood at one organisation's reply URL (anyone can start a sign-in there) holds only that organisation's share.
      for (let i = 0; i < SAML_CHECK_LIMITS.perOrganisation + 1; i++) {
        const started = await startSignIn(t.app, member.provider.id);
        sent.push(postResponse(t.app, member.provider.id, signedResponse(idp, spec(started)), started.cookies).finally(() => { settled++; }));
      }
      await vi.waitFor(() => expect(settled).toBe(1));
      const [neighbour] = others;
      const started = await startSignIn(t.app, neighbour!.provider.id);
      other = postResponse(t.app, neighbour!.provider.id, signedResponse(idp, spec(started, {}, neighbour)), started.cookies);
    } finally {
      release();
      held = undefined;
    }
    expect((await other).statusCode).toBe(303);
    const answers = await Promise.all(sent);
    expect(answers.map((res) => res.statusCode).sort()).toEqual([...Array(SAML_CHECK_LIMITS.perOrganisation).fill(303), 503]);
    await expectBusy(answers.find((res) => res.statusCode === 503)!);
  });
});
