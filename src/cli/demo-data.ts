// Demo data: four fictional councils in two regions, people in every role, realistic shared-service
// arrangements and a few documents. Idempotent: a second run only prints how to start.
import { Readable } from 'node:stream';
import type { Config } from '../config/config.js';
import { DomainError } from '../domain/errors.js';
import type { AppServices } from '../services/app-services.js';
import { systemActor } from '../services/identity.service.js';
import { say } from './context.js';

export const DEMO_PASSWORD = 'demo-vault-passphrase-2026';

const COUNCILS = [
  { slug: 'north-shire', name: 'North Shire Council', region: 'North West', kind: 'county' },
  { slug: 'riverside', name: 'Riverside Borough Council', region: 'North West', kind: 'district' },
  { slug: 'eastvale', name: 'Eastvale District Council', region: 'East of England', kind: 'district' },
  { slug: 'fenmarsh', name: 'Fenmarsh District Council', region: 'East of England', kind: 'district' },
];

// Each filed under a record series of the file plan every council starts with, so the demo shows retention.
const COLLECTIONS = [
  { name: 'Human resources', service: 'hr', classification: 'OFFICIAL-SENSITIVE', series: 'HR-01' },
  { name: 'Payroll', service: 'payroll', classification: 'OFFICIAL-SENSITIVE', series: 'PAY-01' },
  { name: 'Finance', service: 'finance', classification: 'OFFICIAL', series: 'FIN-01' },
  { name: 'Procurement', service: 'procurement', classification: 'OFFICIAL', series: 'PRO-01' },
];
/** Sub-collections filed under a series of their own. */
const SUB_COLLECTIONS = [
  { parent: 'finance', key: 'finance/invoices', name: 'Invoices', service: 'finance', classification: 'OFFICIAL', series: 'FIN-02' },
  { parent: 'hr', key: 'hr/applications', name: 'Unsuccessful applications', service: 'hr', classification: 'OFFICIAL-SENSITIVE', series: 'HR-03' },
];

const PEOPLE = [
  { local: 'admin', name: 'Alex Admin', roles: ['org_admin'], teams: [], clearance: 'OFFICIAL-SENSITIVE' },
  { local: 'payroll', name: 'Priya Payroll', roles: ['member'], teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' },
  { local: 'hr', name: 'Harriet HR', roles: ['member'], teams: ['hr'], clearance: 'OFFICIAL-SENSITIVE' },
  { local: 'procurement', name: 'Pat Procurement', roles: ['member'], teams: ['procurement'], clearance: 'OFFICIAL' },
  { local: 'records', name: 'Rob Records', roles: ['records_manager'], teams: [], clearance: 'OFFICIAL-SENSITIVE' },
  { local: 'security', name: 'Sam Security', roles: ['security_admin'], teams: [], clearance: 'OFFICIAL-SENSITIVE' },
  { local: 'auditor', name: 'Aisha Auditor', roles: ['auditor'], teams: [], clearance: 'OFFICIAL-SENSITIVE' },
  // On the payroll and HR teams: a DPO answers subject access requests from the records their teams let them read.
  { local: 'dpo', name: 'Dana DPO', roles: ['dpo'], teams: ['payroll', 'hr'], clearance: 'OFFICIAL-SENSITIVE' },
];

const emailOf = (local: string, slug: string) => `${local}@${slug}.example.gov.uk`;

export async function seedDemo(vault: AppServices, config: Config): Promise<void> {
  const system = systemActor('cli');
  const fresh = await vault.organisations.organisationBySlug(COUNCILS[0]!.slug).then(
    () => false,
    (error: unknown) => {
      if (error instanceof DomainError && error.code === 'NOT_FOUND') return true;
      throw error;
    },
  );
  if (fresh) {
    const orgIds: Record<string, string> = {};
    const collectionIds: Record<string, string> = {};
    for (const council of COUNCILS) {
      const org = await vault.organisations.addOrganisation(system, council);
      orgIds[council.slug] = org.id;
      // Its own e-mail domain, so its org admins can add people on the Users page (docs/identity.md#adding-people).
      await vault.organisations.changeEmailDomains(system, council.slug, { add: [emailOf('x', council.slug).split('@')[1]!] });
      for (const c of COLLECTIONS) {
        const filing = await vault.retention.stageNewCollectionSeries(system, org.id, c.series);
        const created = await vault.collectionCreation.create(system, { organisationId: org.id, name: c.name, serviceArea: c.service, classification: c.classification }, { filing });
        collectionIds[`${council.slug}/${c.service}`] = created.id;
      }
      for (const c of SUB_COLLECTIONS) {
        const created = await vault.collectionCreation.create(system, {
          organisationId: org.id, parentId: collectionIds[`${council.slug}/${c.parent}`]!, name: c.name, serviceArea: c.service, classification: c.classification,
        }, { filing: await vault.retention.stageNewCollectionSeries(system, org.id, c.series) });
        collectionIds[`${council.slug}/${c.key}`] = created.id;
      }
      for (const person of PEOPLE) {
        await vault.userCreation.addUser(system, { organisationSlug: council.slug, email: emailOf(person.local, council.slug), name: person.name, roles: person.roles, teams: person.teams, clearance: person.clearance, password: DEMO_PASSWORD });
      }
    }
    const id = (slug: string) => orgIds[slug]!;
    await vault.arrangements.propose(system, {
      hostOrganisationId: id('north-shire'), partnerOrganisationIds: [id('riverside'), id('eastvale')], serviceArea: 'payroll',
      purpose: 'North Shire runs payroll for Riverside and Eastvale', lawfulBasis: 'UK GDPR Art 6(1)(e) public task; Art 28 processing agreement',
      agreementReference: 'NS-PAY-2024-01', accessLevel: 'contribute', ceiling: 'OFFICIAL-SENSITIVE', startsAt: '2024-04-01', annualSavingPounds: 185_000,
    }, { approve: true });
    const procurement = await vault.arrangements.propose(system, {
      hostOrganisationId: id('eastvale'), partnerOrganisationIds: [id('fenmarsh'), id('riverside'), id('north-shire')], serviceArea: 'procurement',
      purpose: 'Joint procurement unit buying for four councils', lawfulBasis: 'UK GDPR Art 6(1)(e) public task; joint committee agreement',
      agreementReference: 'JPU-2023-07', accessLevel: 'manage', ceiling: 'OFFICIAL', startsAt: '2023-07-01', annualSavingPounds: 240_000,
    }, { approve: true });
    await vault.arrangements.createWorkspace(system, procurement.id, 'Joint procurement unit');
    await vault.arrangements.propose(system, {
      hostOrganisationId: id('riverside'), partnerOrganisationIds: [id('fenmarsh')], serviceArea: 'hr',
      purpose: 'Riverside HR service manages personnel files for Fenmarsh', lawfulBasis: 'UK GDPR Art 6(1)(b),(c); Art 9(2)(b) employment',
      agreementReference: 'RBC-HR-2025-02', accessLevel: 'read', ceiling: 'OFFICIAL-SENSITIVE', startsAt: '2025-02-01', annualSavingPounds: 95_000,
    }, { approve: true });

    const samples: [string, string, string][] = [
      ['north-shire/payroll', 'pay-run-summary-2026-11.csv', 'cost_centre,headcount,gross,net\nNS-PAY-01,412,1008450.00,781204.35\nNS-PAY-02,96,236120.00,183007.90\n'],
      ['riverside/payroll', 'payslips-2026-10.csv', 'employee_ref,period,gross,tax,ni,net\nRB0001,2026-10,2450.00,290.00,180.40,1979.60\nRB0002,2026-10,3120.50,424.10,254.86,2441.54\n'],
      ['eastvale/payroll', 'payroll-variations-2026-11.csv', 'employee_ref,change,effective\nEV0042,hours 37 -> 30,2026-11-01\n'],
      ['fenmarsh/hr', 'personnel-file-FM0107.txt', 'Personnel file FM0107 (fictional). Start date 2019-05-13. Role: Planning officer.\n'],
      ['north-shire/finance', 'budget-monitoring-q2.csv', 'cost_centre,budget,actual\nNS100,120000,118250\nNS200,84000,86110\n'],
      ['north-shire/finance/invoices', 'invoice-INV-20931.txt', 'Invoice INV-20931 (fictional). Supplier: Shire Office Supplies Ltd. Amount: 1,240.00. Paid 2026-10-14.\n'],
    ];
    for (const [key, name, text] of samples) {
      const [slug] = key.split('/');
      const uploader = await vault.identity.userByEmail(emailOf(key.endsWith('hr') ? 'hr' : key.includes('/finance') ? 'admin' : 'payroll', slug!));
      const actor = { ...system, userId: uploader.id, organisationId: uploader.organisationId };
      await vault.documents.upload(actor, collectionIds[key]!, { name, body: Readable.from([Buffer.from(text)]) }).catch((error: unknown) => {
        say(`(sample ${name} not stored: ${error instanceof Error ? error.message : String(error)})`);
      });
    }
  }
  if (fresh) {
    // An open subject access request at Fenmarsh, whose personnel files Riverside's HR service manages: Riverside is asked to search too.
    const dpo = await vault.identity.userByEmail(emailOf('dpo', 'fenmarsh'));
    const riverside = await vault.organisations.organisationBySlug('riverside');
    const received = new Date(Date.now() - 12 * 86_400_000).toISOString().slice(0, 10);
    await vault.subjectAccess.requests.open({ ...system, userId: dpo.id, organisationId: dpo.organisationId }, {
      reference: 'FDC-SAR-0042', subjectName: 'Jordan Example', subjectDetails: 'Former planning officer, personnel file FM0107 (fictional)', receivedOn: received,
      partnerOrganisationIds: [riverside.id],
    });
  }
  // Councils added since the demo was first created get their file plan too (existing series are kept).
  await vault.retention.seedAll(system);
  // The printed token is a payroll officer's: members need no authenticator app before using tokens
  // (admins do), and North Shire's payroll team sees its own payroll folder (which holds a document)
  // and, through the shared payroll arrangement, Riverside's and Eastvale's payroll documents.
  const officer = await vault.identity.userByEmail(emailOf('payroll', 'north-shire'));
  const { secret } = await vault.credentials.createCredential(system, officer.id, 'api_token', 'demo');
  const payroll = (await vault.collections.roots(system, officer.organisationId)).find((c) => c.serviceArea === 'payroll');
  const base = `http://${config.host}:${config.port}`;
  say([
    '',
    fresh ? 'Demo data created: four fictional councils in two regions, with shared payroll, procurement and HR arrangements.' : 'Demo data already present.',
    `Every demo user's password is: ${DEMO_PASSWORD}`,
    'People (replace the council to sign in elsewhere: north-shire, riverside, eastvale, fenmarsh):',
    ...PEOPLE.map((p) => `  ${emailOf(p.local, 'north-shire').padEnd(40)} ${p.roles.join(', ')}${p.teams.length ? ` (${p.teams.join(', ')} team)` : ''}`),
    'Admins, security admins and records managers set up an authenticator app at first sign-in.',
    '',
    `Web interface:  ${base}/`,
    `API docs:       ${base}/api/docs`,
    `API token for ${officer.email}: ${secret}`,
    `  curl -H "Authorization: Bearer ${secret}" ${base}/api/v1/collections    # the folders this person can see`,
    ...(payroll ? [`  curl -H "Authorization: Bearer ${secret}" ${base}/api/v1/collections/${payroll.id}    # the Payroll folder and its documents`] : []),
    // Found by a word inside them, North Shire's own payroll file and Riverside's through the shared payroll arrangement.
    `  curl -H "Authorization: Bearer ${secret}" '${base}/api/v1/search?q=gross'    # search (once the worker has read the documents)`,
    `WebDAV:         ${base}/dav/ (create an app password: strongroom app-password create --user ${officer.email})`,
    '',
  ].join('\n'));
}
