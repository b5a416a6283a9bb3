// What the SAML library's reading of an answer costs by its shape (docs/performance.md "What the SAML library's
// reading costs", docs/threat-model.md "A SAML answer that holds the server's one thread"): the same
// NodeSamlProtocol.verify the reply URL calls, with the size pre-check lifted (or, given `limited`, SAML_LIMITS;
// the shapes labelled hostile are the costliest answers those let through), timed on signed answers of G group
// values as Okta and PingFederate send them (each AttributeValue declaring xs and xsi, typed xs:string), and on
// answers of N elements side by side, nested or in groups, M attributes or namespace declarations. Median of 3.
// The check runs on the SAML thread, as at the reply URL; lifted, so do its time and memory limits (the library's
// own cost is measured, not where the thread would stop it), and the figures include the message round trip.
// Usage: node --no-warnings --import tsx bench/saml-size.ts [lifted|limited] [part of a shape's label]
import { performance } from 'node:perf_hooks';
import { NodeSamlProtocol } from '../src/integrations/saml/node-saml.protocol.js';
import { SAML_LIMITS, SamlRefused, type SamlLimits } from '../src/domain/identity/saml.js';
import { SAML_THREAD_LIMITS } from '../src/integrations/saml/saml-verify-worker.js';
import { ENTRA_GROUPS, b64, makeIdp, newId, responseXml, signAssertion, assertionXml, type AssertionSpec } from '../test/identity/saml-idp.js';

const idp = makeIdp('bench');
const sp = { entityId: 'https://vault.example.test/sp', acsUrl: 'https://vault.example.test/acs', signOnUrl: 'https://vault.example.test/sign-in' };
const settings = { entryPoint: idp.entryPoint, idpEntityId: idp.entityId, idpCertificates: [idp.cert], emailAttribute: null };
const lifted = process.argv[2] !== 'limited';
const limits = lifted ? Object.fromEntries(Object.keys(SAML_LIMITS).map((k) => [k, Infinity])) as unknown as SamlLimits : SAML_LIMITS;
const protocol = new NodeSamlProtocol(limits, lifted ? { ...SAML_THREAD_LIMITS, timeLimitMs: 10 * 60_000, memoryMb: 1024 } : SAML_THREAD_LIMITS);

function spec(requestId: string, groups = 0): AssertionSpec {
  return { inResponseTo: requestId, acsUrl: sp.acsUrl, audience: sp.entityId, nameId: 'someone@council.test', typedValues: true,
    attributes: { [ENTRA_GROUPS]: Array.from({ length: groups }, (_, i) => `Council Staff Group ${String(i).padStart(5, '0')}`) } };
}
const signed = (groups: number) => (id: string) => b64(responseXml(idp, spec(id), signAssertion(idp, assertionXml(idp, spec(id, groups)))));
const unsigned = (inner: (n: number) => string, rootAttributes = (_n: number) => '') => (n: number) => (id: string) =>
  b64(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ${rootAttributes(n)} ID="${newId()}" Version="2.0" InResponseTo="${id}">${inner(n)}</samlp:Response>`);

async function time(build: (requestId: string) => string): Promise<{ ms: number; kib: number; outcome: string }> {
  const runs: number[] = [];
  let outcome = '';
  let kib = 0;
  for (let i = 0; i < 3; i++) {
    const requestId = newId();
    const answer = build(requestId);
    kib = Math.round(Buffer.byteLength(answer) / 1024);
    const start = performance.now();
    try {
      await protocol.verify(settings, sp, answer, { requestId, issuedAt: Date.now() });
      outcome = 'accepted';
    } catch (error) {
      outcome = error instanceof SamlRefused ? error.reason : String(error);
    }
    runs.push(performance.now() - start);
  }
  return { ms: runs.sort((a, b) => a - b)[1]!, kib, outcome };
}

const shapes: [string, (n: number) => (id: string) => string, number[]][] = [
  ['signed, G typed group values', signed, [100, 300, 1000, 2000, 3000, 5000]],
  ['unsigned, N empty sibling elements', unsigned((n) => '<x/>'.repeat(n)), [1000, 2000, 4000, 9000]],
  ['unsigned, N elements in groups of 10 siblings', unsigned((n) => `<y>${'<x/>'.repeat(10)}</y>`.repeat(n / 11)), [1000, 2000, 4000, 9000]],
  ['unsigned, N empty siblings one level down (Extensions)', unsigned((n) => `<samlp:Extensions>${'<x/>'.repeat(n)}</samlp:Extensions>`), [1000, 2000, 4000, 9000]],
  ['unsigned, N empty siblings in an Assertion', unsigned((n) => `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a">${'<x/>'.repeat(n)}</saml:Assertion>`), [1000, 2000, 4000, 9000]],
  ['signed, N empty siblings beside the assertion', (n) => (id) => b64(responseXml(idp, spec(id), signAssertion(idp, assertionXml(idp, spec(id, 10))) + '<x/>'.repeat(n))), [1000, 2000, 4000, 9000]],
  ['signed, N empty siblings in Extensions', (n) => (id) => b64(responseXml(idp, spec(id), signAssertion(idp, assertionXml(idp, spec(id, 10))), '<x/>'.repeat(n))), [1000, 2000, 4000, 9000]],
  ['unsigned, N nested elements', unsigned((n) => '<x>'.repeat(n) + '</x>'.repeat(n)), [250, 500, 1000, 2000, 4000]],
  ['unsigned, M attributes on one element', unsigned(() => '', (n) => Array.from({ length: n }, (_, i) => `a${i}=""`).join(' ')), [1000, 2000, 4000, 8000]],
  ['unsigned, M namespace declarations on the root', unsigned(() => '', (n) => Array.from({ length: n }, (_, i) => `xmlns:p${i}="urn:p"`).join(' ')), [1000, 2000, 4000, 8000]],
  ['unsigned, 1,000 elements under M namespace declarations', unsigned(() => '<x/>'.repeat(1000), (n) => Array.from({ length: n }, (_, i) => `xmlns:p${i}="urn:p"`).join(' ')), [500, 1000, 2000, 4000]],
  ['hostile: signed, an Attribute of N empty children in Extensions', (n) => (id) => b64(responseXml(idp, spec(id), signAssertion(idp, assertionXml(idp, spec(id, 10))), `<saml:Attribute>${'<x/>'.repeat(n)}</saml:Attribute>`)), [1000, 2000, 2900, 4000]],
  ['hostile: unsigned, an Attribute of N empty children in the root', unsigned((n) => `<saml:Attribute xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${'<x/>'.repeat(n)}</saml:Attribute>`), [1000, 2000, 2900, 4000]],
  ['hostile: unsigned, 999 children of the root, 9 attributes each', unsigned(() => `<x ${Array.from({ length: 9 }, (_, i) => `xmlns:p${i}="urn:p"`).join(' ')}/>`.repeat(999)), [999]],
  ['hostile: signed, 990 children of the root, M declarations on it', (n) => (id) => b64(responseXml(idp, spec(id), signAssertion(idp, assertionXml(idp, spec(id, 1))) + '<x/>'.repeat(990)).replace('<samlp:Response ', `<samlp:Response ${Array.from({ length: n }, (_, i) => `xmlns:p${i}="urn:p"`).join(' ')} `)), [5, 10, 15, 20, 30, 50]],
  ['hostile: signed, N children of the root declaring 60 namespaces each', (n) => (id) => b64(responseXml(idp, spec(id), signAssertion(idp, assertionXml(idp, spec(id, 1))) + `<x ${Array.from({ length: 60 }, (_, i) => `xmlns:p${i}="urn:p"`).join(' ')}/>`.repeat(n))), [160]],
  ['hostile: signed, G groups declaring 3 namespaces each', (n) => (id) => b64(responseXml(idp, spec(id), signAssertion(idp, assertionXml(idp, spec(id, n)).replaceAll('xmlns:xs=', 'xmlns:q="urn:q" xmlns:xs=')))), [2400]],
  ['signed, M namespace declarations on the root', (n) => (id) => b64(responseXml(idp, spec(id), signAssertion(idp, assertionXml(idp, spec(id, 1)))).replace('<samlp:Response ', `<samlp:Response ${Array.from({ length: n }, (_, i) => `xmlns:p${i}="urn:p"`).join(' ')} `)), [250, 500, 1000, 2000, 4000]],
  ['signed, 500 groups under M namespace declarations on the root', (n) => (id) => b64(responseXml(idp, spec(id), signAssertion(idp, assertionXml(idp, spec(id, 500)))).replace('<samlp:Response ', `<samlp:Response ${Array.from({ length: n }, (_, i) => `xmlns:p${i}="urn:p"`).join(' ')} `)), [100, 500, 1000, 2000]],
  ['unsigned, N elements each with 3 attributes', unsigned((n) => '<x a="" b="" c=""/>'.repeat(n)), [1000, 2000, 4000, 8000]],
];
const only = process.argv[3];
console.log(`limits ${lifted ? 'lifted' : `as shipped: ${JSON.stringify(limits)}`}`);
for (const [label, shape, sizes] of shapes) {
  if (only && !label.includes(only)) continue;
  for (const n of sizes) {
    const { ms, kib, outcome } = await time(shape(n));
    console.log(`${label.padEnd(58)} ${String(n).padStart(6)}  ${String(kib).padStart(5)} KiB base64  ${ms.toFixed(0).padStart(6)} ms  ${outcome}`);
  }
}
