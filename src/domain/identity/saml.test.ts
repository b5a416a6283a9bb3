// The SAML rules that need no XML: each provider's own SP addresses, and what an assertion says about the person.
import { describe, expect, it } from 'vitest';
import type { SamlSettings } from './federation.js';
import { NAMEID_EMAIL, assertedEmail, assertedName, samlServiceProvider, type SamlAssertion } from './saml.js';

const settings: SamlSettings = { entryPoint: 'https://login.example/saml2', idpEntityId: 'https://sts.example/', idpCertificates: ['x'], emailAttribute: 'mail' };
const assertion = (patch: Partial<SamlAssertion>): SamlAssertion => ({
  issuer: settings.idpEntityId, responseIssuer: null, assertionId: '_a', nameId: 'AAAA-persistent', nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  recipient: null, destination: null, notOnOrAfter: null, authnContextClassRef: null, attributes: {}, ...patch,
});

describe('SAML service provider addresses', () => {
  it('gives each provider its own entity id, reply URL and sign-on URL under the public address', () => {
    expect(samlServiceProvider('https://vault.example.gov.uk/', 'p-1')).toEqual({
      entityId: 'https://vault.example.gov.uk/sign-in/saml/p-1/metadata', acsUrl: 'https://vault.example.gov.uk/sign-in/saml/p-1/acs',
      signOnUrl: 'https://vault.example.gov.uk/sign-in/saml/p-1',
    });
  });
});

describe('what an assertion says about the person', () => {
  it('takes the e-mail address from an emailAddress NameID, else from the configured attribute, else none', () => {
    expect(assertedEmail(settings, assertion({ nameId: 'sam@north.gov.uk', nameIdFormat: NAMEID_EMAIL, attributes: { mail: ['other@north.gov.uk'] } }))).toBe('sam@north.gov.uk');
    expect(assertedEmail(settings, assertion({ attributes: { mail: ['sam@north.gov.uk', 'second@north.gov.uk'] } }))).toBe('sam@north.gov.uk');
    // A persistent NameID is never read as an address, even when it looks like one; nor is a value without @.
    expect(assertedEmail(settings, assertion({ nameId: 'sam@north.gov.uk', attributes: {} }))).toBeNull();
    expect(assertedEmail(settings, assertion({ attributes: { mail: ['not-an-address'] } }))).toBeNull();
    expect(assertedEmail({ ...settings, emailAttribute: null }, assertion({ attributes: { mail: ['sam@north.gov.uk'] } }))).toBeNull();
  });

  it('names a person by the display name, else given name and surname, else not at all', () => {
    expect(assertedName(assertion({ attributes: { 'http://schemas.microsoft.com/identity/claims/displayname': ['Sam Jones'], givenName: ['S'] } }))).toBe('Sam Jones');
    expect(assertedName(assertion({ attributes: { givenName: ['Sam'], sn: ['Jones'] } }))).toBe('Sam Jones');
    expect(assertedName(assertion({ attributes: { displayName: ['  '] } }))).toBeNull();
  });
});
