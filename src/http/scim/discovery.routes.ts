// What this SCIM service supports (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas, saying
// exactly what the Users and Groups routes do: PATCH yes; bulk, sort, ETags and password change no; filter
// `eq` on the attributes listed in domain/identity/scim-filter.ts.
import type { FastifyPluginAsync } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { GROUP_SCHEMA, USER_SCHEMA } from '../../domain/identity/scim-resources.js';
import { LIST_SCHEMA, MAX_PAGE, scimBase } from './presenters.js';

const CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

const attribute = (name: string, type: string, extra: Record<string, unknown> = {}) => ({
  name, type, multiValued: false, required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none', ...extra,
});

const SCHEMAS = [
  {
    id: USER_SCHEMA, name: 'User', description: 'A person of the organisation. userName is the e-mail address.',
    attributes: [
      attribute('userName', 'string', { required: true, uniqueness: 'server' }),
      attribute('externalId', 'string', { caseExact: true }),
      attribute('displayName', 'string'),
      attribute('name', 'complex', { subAttributes: [attribute('formatted', 'string'), attribute('givenName', 'string'), attribute('familyName', 'string')] }),
      attribute('active', 'boolean'),
      attribute('emails', 'complex', { multiValued: true, mutability: 'readOnly', subAttributes: [attribute('value', 'string'), attribute('type', 'string'), attribute('primary', 'boolean')] }),
    ],
  },
  {
    id: GROUP_SCHEMA, name: 'Group', description: 'A directory group; the organisation\'s group mapping turns membership into roles, teams and clearance.',
    attributes: [
      attribute('displayName', 'string', { required: true }),
      attribute('externalId', 'string', { caseExact: true }),
      attribute('members', 'complex', { multiValued: true, subAttributes: [attribute('value', 'string', { caseExact: true, mutability: 'immutable' }), attribute('$ref', 'reference', { mutability: 'immutable' })] }),
    ],
  },
];

export const discoveryRoutes: FastifyPluginAsync = async (app) => {
  app.get('/ServiceProviderConfig', async (request) => ({
    schemas: [CONFIG_SCHEMA],
    documentationUri: 'https://github.com/strongroom/strongroom/blob/main/docs/identity.md#scim',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_PAGE },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [{ type: 'oauthbearertoken', name: 'Bearer token', description: 'A SCIM token created by an org admin on the organisation\'s SCIM provisioning page.', primary: true }],
    meta: { resourceType: 'ServiceProviderConfig', location: `${scimBase(request)}/ServiceProviderConfig` },
  }));

  const resourceType = (base: string, name: 'User' | 'Group') => ({
    schemas: [RESOURCE_TYPE_SCHEMA], id: name, name, endpoint: `/${name}s`, schema: name === 'User' ? USER_SCHEMA : GROUP_SCHEMA,
    meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/${name}` },
  });
  app.get('/ResourceTypes', async (request) => {
    const resources = [resourceType(scimBase(request), 'User'), resourceType(scimBase(request), 'Group')];
    return { schemas: [LIST_SCHEMA], totalResults: resources.length, startIndex: 1, itemsPerPage: resources.length, Resources: resources };
  });
  app.get<{ Params: { name: string } }>('/ResourceTypes/:name', async (request) => {
    if (request.params.name !== 'User' && request.params.name !== 'Group') throw new DomainError('NOT_FOUND', `There is no resource type "${request.params.name}": Strongroom serves User and Group.`);
    return resourceType(scimBase(request), request.params.name);
  });

  const schema = (base: string, s: (typeof SCHEMAS)[number]) => ({ schemas: [SCHEMA_SCHEMA], ...s, meta: { resourceType: 'Schema', location: `${base}/Schemas/${s.id}` } });
  app.get('/Schemas', async (request) => ({
    schemas: [LIST_SCHEMA], totalResults: SCHEMAS.length, startIndex: 1, itemsPerPage: SCHEMAS.length, Resources: SCHEMAS.map((s) => schema(scimBase(request), s)),
  }));
  app.get<{ Params: { id: string } }>('/Schemas/:id', async (request) => {
    const found = SCHEMAS.find((s) => s.id === request.params.id);
    if (!found) throw new DomainError('NOT_FOUND', `There is no schema "${request.params.id}" here.`);
    return schema(scimBase(request), found);
  });
};
