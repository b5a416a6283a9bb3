// The councils, people and records the subject access tests share: the host runs payroll for the partner,
// the partner's DPO receives a request about Sam Smith and asks the host, and each holds one record of them.
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { api } from './http.js';
import { createPartnership, upload, type TestVault } from './vault.js';

export async function subjectAccessWorld(t: Pick<TestVault, 'vault' | 'app'>) {
  const { host, partner, arrangement } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
  const dpo = await partner.user({ roles: ['dpo'], teams: ['payroll'] });
  const hostDpo = await host.user({ roles: ['dpo'], teams: ['payroll'] });
  const partnerStaff = await partner.user({ teams: ['payroll'] });
  const hostStaff = await host.user({ teams: ['payroll'] });
  const own = (await upload(t.app, partnerStaff, partner.collections.payroll!, 'payslip-march.txt', 'Payslip for Sam Smith, March\n')).json().id as string;
  const held = (await upload(t.app, hostStaff, host.collections.payroll!, 'overtime-claims.txt', 'Overtime claims, Sam Smith\n')).json().id as string;
  return { host, partner, arrangement, dpo, hostDpo, partnerStaff, hostStaff, own, held };
}

export type SubjectAccessWorld = Awaited<ReturnType<typeof subjectAccessWorld>>;

/** The partner's DPO opens a request about Sam Smith, received 31 October 2026, asking `partners` (the host unless told). */
export async function openSubjectAccess(t: Pick<TestVault, 'app'>, w: SubjectAccessWorld, partners: string[] = [w.host.slug]) {
  const res = await api(t.app, w.dpo).post('subject-access', {
    reference: `SAR-${randomUUID().slice(0, 6)}`, subjectName: 'Sam Smith', subjectDetails: 'Payroll number 4411; formerly Sam Jones', receivedOn: '2026-10-31', partners,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}
