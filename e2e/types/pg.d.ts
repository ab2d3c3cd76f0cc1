// The part of node-postgres (pg, no types of its own) that e2e/vault.e2e.test.ts uses: one login.
declare module "pg" {
  export class Client {
    constructor(config: {
      host: string;
      port: number;
      user: string;
      password: string;
      database: string;
      connectionTimeoutMillis?: number;
    });
    connect(): Promise<void>;
    query<R = Record<string, unknown>>(sql: string): Promise<{ rows: R[] }>;
    end(): Promise<void>;
  }
  const pg: { Client: typeof Client };
  export default pg;
}
