// A test SAML identity provider: its own key and certificate (made by openssl), and responses built as
// Entra ID sends them, the assertion signed with xml-crypto (enveloped, exclusive c14n, RSA-SHA256).
// Hostile variants are built from the same pieces (unsigned, tampered, wrapped, for another audience…).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignedXml } from 'xml-crypto';

export interface TestIdp {
  entityId: string;
  entryPoint: string;
  key: string;
  cert: string;
}

export function makeIdp(name: string): TestIdp {
  const dir = mkdtempSync(path.join(tmpdir(), 'sr-saml-idp-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '2', '-subj', `/CN=${name}`], { stdio: 'ignore' });
    return {
      entityId: `https://sts.${name}.test/tenant/`, entryPoint: `https://login.${name}.test/saml2`,
      key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
export const PERSISTENT_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
export const ENTRA_EMAIL = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';
export const ENTRA_GROUPS = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups';
export const ENTRA_MFA = 'http://schemas.microsoft.com/claims/multipleauthn';

export interface AssertionSpec {
  inResponseTo: string;
  acsUrl: string;
  audience: string;
  nameId: string;
  nameIdFormat?: string;
  issuer?: string;
  /** Seconds from now (negative: in the past). */
  notBefore?: number;
  notOnOrAfter?: number;
  recipient?: string;
  attributes?: Record<string, string[]>;
  authnContext?: string;
  assertionId?: string;
  /** Each AttributeValue declares xs and xsi and says it is an xs:string, as Okta and PingFederate send them. */
  typedValues?: boolean;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
const at = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();
export const newId = () => `_${randomBytes(16).toString('hex')}`;

export function assertionXml(idp: TestIdp, spec: AssertionSpec): string {
  const id = spec.assertionId ?? newId();
  const value = spec.typedValues
    ? '<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">'
    : '<saml:AttributeValue>';
  const attributes = Object.entries(spec.attributes ?? {}).map(([name, values]) =>
    `<saml:Attribute Name="${esc(name)}">${values.map((v) => `${value}${esc(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`).join('');
  return `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${at(0)}">`
    + `<saml:Issuer>${esc(spec.issuer ?? idp.entityId)}</saml:Issuer>`
    + `<saml:Subject><saml:NameID Format="${spec.nameIdFormat ?? EMAIL_FORMAT}">${esc(spec.nameId)}</saml:NameID>`
    + `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="${spec.inResponseTo}" NotOnOrAfter="${at(spec.notOnOrAfter ?? 300)}" Recipient="${esc(spec.recipient ?? spec.acsUrl)}"/></saml:SubjectConfirmation></saml:Subject>`
    + `<saml:Conditions NotBefore="${at(spec.notBefore ?? -5)}" NotOnOrAfter="${at(spec.notOnOrAfter ?? 300)}"><saml:AudienceRestriction><saml:Audience>${esc(spec.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>`
    + (attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : '')
    + `<saml:AuthnStatement AuthnInstant="${at(-1)}" SessionIndex="${newId()}"><saml:AuthnContext><saml:AuthnContextClassRef>${spec.authnContext ?? 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`
    + `</saml:Assertion>`;
}

/** Signs the (first) Assertion in `xml`, the signature placed after its Issuer, as Entra does. */
export function signAssertion(idp: TestIdp, xml: string): string {
  return sign(idp, xml, 'Assertion');
}

/** Signs the Response itself (Entra's "Sign SAML response" option). */
export function signResponse(idp: TestIdp, xml: string): string {
  return sign(idp, xml, 'Response');
}

function sign(idp: TestIdp, xml: string, element: 'Assertion' | 'Response'): string {
  const sig = new SignedXml({
    privateKey: idp.key, publicCert: idp.cert,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  });
  sig.addReference({
    xpath: `/descendant::*[local-name(.)='${element}'][1]`,
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  sig.computeSignature(xml, { location: { reference: `/descendant::*[local-name(.)='${element}'][1]/*[local-name(.)='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
}

/** A Response around `inner` (one or more assertions, or anything a test injects). */
export function responseXml(idp: TestIdp, spec: { inResponseTo: string; acsUrl: string; issuer?: string }, inner: string, extensions = ''): string {
  return `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${newId()}" Version="2.0" IssueInstant="${at(0)}" Destination="${esc(spec.acsUrl)}" InResponseTo="${spec.inResponseTo}">`
    + `<saml:Issuer>${esc(spec.issuer ?? idp.entityId)}</saml:Issuer>`
    + (extensions ? `<samlp:Extensions>${extensions}</samlp:Extensions>` : '')
    + `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>`
    + inner + `</samlp:Response>`;
}

/** The usual response: a signed assertion in an unsigned Response, base64 as the HTTP-POST binding carries it. */
export function signedResponse(idp: TestIdp, spec: AssertionSpec): string {
  const signed = signAssertion(idp, assertionXml(idp, spec));
  return b64(responseXml(idp, spec, signed));
}

export const b64 = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');
