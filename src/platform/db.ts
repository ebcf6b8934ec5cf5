// PostgreSQL through postgres.js, queries built with Kysely.
//
// Kysely only compiles; postgres.js runs the statements, prepared, on its own pool. We do not
// use kysely-postgres-js: it reserves a connection for every query and sends unprepared
// statements, which costs a round trip and a reservation per query (see bench/portal).
//
// Tenant data is only reachable through withTenant(): one transaction whose first message sets
// app.tenant_id locally (set_config(..., true)), so the row-level security policies of
// migrations/ see exactly one tenant and a pooled connection never keeps it afterwards.
import postgres from 'postgres';
import {
  CompiledQuery,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { Database } from './database.js';
import { isUuid } from './ids.js';

type Runner = postgres.Sql | postgres.ReservedSql | postgres.TransactionSql;

class PostgresJsConnection implements DatabaseConnection {
  #reserved: postgres.ReservedSql | undefined;
  constructor(private readonly runner: Runner, private readonly pool?: postgres.Sql) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const runner = this.#reserved ?? this.runner;
    const result = await runner.unsafe(query.sql, query.parameters as postgres.ParameterOrJSON<never>[], {
      prepare: true,
    });
    const affected = ['INSERT', 'UPDATE', 'DELETE', 'MERGE'].includes(result.command)
      ? { numAffectedRows: BigInt(result.count) }
      : {};
    return { rows: [...result] as R[], ...affected };
  }

  async *streamQuery<R>(query: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
    const runner = this.#reserved ?? this.runner;
    const cursor = runner
      .unsafe(query.sql, query.parameters as postgres.ParameterOrJSON<never>[], { prepare: true })
      .cursor(chunkSize);
    for await (const rows of cursor) yield { rows: rows as unknown as R[] };
  }

  async begin(settings: TransactionSettings): Promise<void> {
    if (!this.pool) throw new Error('nested transaction on a transaction connection');
    this.#reserved = await this.pool.reserve();
    const mode = [
      settings.isolationLevel ? `isolation level ${settings.isolationLevel}` : '',
      settings.accessMode ?? '',
    ].filter(Boolean);
    await this.#reserved.unsafe(`begin ${mode.join(', ')}`);
  }

  async end(statement: 'commit' | 'rollback'): Promise<void> {
    const reserved = this.#reserved;
    if (!reserved) return;
    this.#reserved = undefined;
    try {
      await reserved.unsafe(statement);
    } finally {
      reserved.release();
    }
  }
}

class PostgresJsDriver implements Driver {
  constructor(private readonly runner: Runner) {}
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    const pool = 'reserve' in this.runner ? (this.runner as postgres.Sql) : undefined;
    return new PostgresJsConnection(this.runner, pool);
  }
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await (connection as PostgresJsConnection).begin(settings);
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PostgresJsConnection).end('commit');
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PostgresJsConnection).end('rollback');
  }
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}
}

class PostgresJsDialect implements Dialect {
  constructor(private readonly runner: Runner) {}
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver() {
    return new PostgresJsDriver(this.runner);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
}

export type Db = Kysely<Database>;
/** A Kysely bound to one tenant's transaction: RLS shows that tenant only. */
export type TenantDb = Kysely<Database>;

export interface DbHandle {
  /** Untenanted queries (tenant registry, health). Tenant tables read as empty here. */
  readonly db: Db;
  /** The raw postgres.js pool, for benchmarks and LISTEN. */
  readonly sql: postgres.Sql;
  withTenant<T>(tenantId: string, fn: (trx: TenantDb) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DbOptions {
  max?: number;
  /** Application name shown in pg_stat_activity. */
  name?: string;
}

export function connectDatabase(url: string, options: DbOptions = {}): DbHandle {
  const sql = postgres(url, {
    max: options.max ?? 10,
    connection: { application_name: options.name ?? 'portique' },
    onnotice: () => {},
    // Rows stay snake_case (DESIGN.md); bigint counts come back as JS numbers where safe.
    types: { bigint: postgres.BigInt },
  });
  const db = new Kysely<Database>({ dialect: new PostgresJsDialect(sql) });

  async function withTenant<T>(tenantId: string, fn: (trx: TenantDb) => Promise<T>): Promise<T> {
    // Validated so it can be sent inline: BEGIN and set_config then travel in one simple-query
    // message, one round trip instead of two.
    if (!isUuid(tenantId)) throw new TypeError(`withTenant: not a tenant id: ${JSON.stringify(tenantId)}`);
    const reserved = await sql.reserve();
    try {
      await reserved.unsafe(`begin; select set_config('app.tenant_id', '${tenantId}', true)`);
      try {
        const result = await fn(new Kysely<Database>({ dialect: new PostgresJsDialect(reserved) }));
        await reserved.unsafe('commit');
        return result;
      } catch (error) {
        await reserved.unsafe('rollback').catch(() => {});
        throw error;
      }
    } finally {
      reserved.release();
    }
  }

  return {
    db,
    sql,
    withTenant,
    async ping() {
      await sql`select 1`;
    },
    async close() {
      await db.destroy();
      await sql.end({ timeout: 5 });
    },
  };
}
