import { describe, expect, it } from 'vitest';
import { ScimFilterError, parseScimFilter } from './scim-filter.js';

const refusal = (kind: 'User' | 'Group', filter: string): string => {
  try {
    parseScimFilter(kind, filter);
  } catch (error) {
    expect(error).toBeInstanceOf(ScimFilterError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${filter}`);
};

describe('SCIM filters', () => {
  it('reads the comparisons Entra ID sends, attribute and operator in any case', () => {
    expect(parseScimFilter('User', 'userName eq "Sam.Jones@North.gov.uk"')).toEqual({ attribute: 'userName', value: 'Sam.Jones@North.gov.uk' });
    expect(parseScimFilter('User', 'externalId EQ "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')).toEqual({ attribute: 'externalId', value: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef' });
    expect(parseScimFilter('User', 'emails[type eq "work"].value eq "a@b.test"')).toEqual({ attribute: 'emails[type eq "work"].value', value: 'a@b.test' });
    expect(parseScimFilter('Group', 'DISPLAYNAME eq "Payroll \\"team\\""')).toEqual({ attribute: 'displayName', value: 'Payroll "team"' });
  });

  it('keeps a hostile value as data', () => {
    expect(parseScimFilter('User', 'userName eq "x\' OR 1=1 --"')).toEqual({ attribute: 'userName', value: 'x\' OR 1=1 --' });
  });

  it('refuses everything else with a message saying what is supported', () => {
    expect(refusal('User', 'userName co "sam"')).toBe('The operator "co" is not supported. Strongroom supports only userName eq "…", externalId eq "…", id eq "…", emails[type eq "work"].value eq "…" for Users.');
    expect(refusal('User', 'displayName eq "Sam"')).toMatch(/^Filtering on "displayName" is not supported\./);
    expect(refusal('Group', 'userName eq "Sam"')).toMatch(/^Filtering on "userName" is not supported\. Strongroom supports only displayName eq "…", externalId eq "…", id eq "…" for Groups\.$/);
    expect(refusal('User', 'userName eq "a" and externalId eq "b"')).toMatch(/^Only one comparison is supported/);
    expect(refusal('User', 'userName eq sam')).toMatch(/^The value must be a string in double quotes\./);
    expect(refusal('User', 'userName eq "sam')).toMatch(/^The value's closing double quote is missing\./);
    expect(refusal('User', 'userName eq "\\x"')).toMatch(/^The value is not a valid string/);
    expect(refusal('User', 'userName pr')).toMatch(/^The filter could not be read\./);
    expect(refusal('User', '')).toMatch(/^The filter could not be read\./);
    expect(refusal('User', `userName eq "${'a'.repeat(1100)}"`)).toBe('The filter is longer than 1024 characters.');
  });
});
