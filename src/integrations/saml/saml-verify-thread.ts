// The SAML thread (started by saml-verify-worker.ts): checks the answers it is sent with the SAML library,
// one at a time, and answers each with what the signed assertion says or why it is refused. Its XPath and
// digest can take a second on a large answer; here they hold only this thread, never the event loop.
import { parentPort } from 'node:worker_threads';
import { SamlRefused } from '../../domain/identity/saml.js';
import { library, verifyResponse } from './node-saml.library.js';
import type { SamlThreadReply, SamlThreadRequest } from './saml-verify-worker.js';

const port = parentPort!;
// The library is loaded before the first answer's time starts (the worker counts from 'ready').
await library();
port.postMessage({ kind: 'ready' } satisfies SamlThreadReply);

port.on('message', ({ id, settings, sp, samlResponse, expected }: SamlThreadRequest) => {
  verifyResponse(settings, sp, samlResponse, expected).then(
    (assertion) => port.postMessage({ kind: 'assertion', id, assertion } satisfies SamlThreadReply),
    (error: unknown) => port.postMessage(error instanceof SamlRefused
      ? { kind: 'refused', id, reason: error.reason, why: error.why } satisfies SamlThreadReply
      : { kind: 'error', id, message: error instanceof Error ? error.message : String(error) } satisfies SamlThreadReply),
  );
});
