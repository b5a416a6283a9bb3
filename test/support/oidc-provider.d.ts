// The few parts of oidc-provider 8 (no published types for this line) the test provider uses.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface Grant {
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    save(): Promise<string>;
  }
  interface GrantConstructor {
    new (init: { clientId: string; accountId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  }
  interface Context {
    oidc: {
      provider: { Grant: GrantConstructor };
      session?: { accountId?: string; grantIdFor(clientId: string): string | undefined };
      client?: { clientId: string };
    };
  }
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown> & {
      findAccount?: (ctx: Context, id: string) => Promise<{ accountId: string; claims(): Promise<Record<string, unknown>> }>;
      loadExistingGrant?: (ctx: Context) => Promise<Grant | undefined>;
    });
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}
