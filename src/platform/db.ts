// PostgreSQL through postgres.js, queries built with Kysely.
//
// Kysely only compiles; postgres.js runs the statements, prepared, on its own pool. We do not
// use kysely-postgres-js: it reserves a connection for every query and sends unprepared
// statements, which costs a round trip and a reservation per query (see bench/portal.ts).
//
// Tenant data is only reachable through withTenant() and readTenant(): transactions whose first
// message sets app.tenant_id locally (set_config(..., true)), so the row-level security policies
// of migrations/ see exactly one tenant and a pooled connection never keeps it afterwards.
//
// On the Node side, a tenant-scoped request costs mostly socket writes and reads, one pair per
// exchange with PostgreSQL (bench/portal.ts). So withTenant sends BEGIN and set_config in the
// same packet as fn's first statement, and only its COMMIT travels alone; readTenant sends each
// read with its BEGIN and COMMIT: one exchange, as many as a plain query.
import postgres from 'postgres';
import {
  CompiledQuery,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type ConnectionProvider,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type KyselyConfig,
  type QueryExecutor,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { Database } from './database.js';
import { isUuid } from './ids.js';

type Runner = postgres.Sql | postgres.ReservedSql;

const WRITE_COMMANDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** Hands a statement to postgres.js now: statements sent in turn this way reach the connection in that order. */
function send(runner: Runner, query: CompiledQuery) {
  return runner.unsafe(query.sql, query.parameters as postgres.ParameterOrJSON<never>[], { prepare: true }).execute();
}

function toQueryResult<R>(result: postgres.RowList<postgres.Row[]>): QueryResult<R> {
  const rows = result as unknown as R[];
  return WRITE_COMMANDS.has(result.command) ? { rows, numAffectedRows: BigInt(result.count) } : { rows };
}

async function execute<R>(runner: Runner, query: CompiledQuery): Promise<QueryResult<R>> {
  return toQueryResult<R>(await send(runner, query));
}

async function* stream<R>(runner: Runner, query: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
  const cursor = runner
    .unsafe(query.sql, query.parameters as postgres.ParameterOrJSON<never>[], { prepare: true })
    .cursor(chunkSize);
  for await (const rows of cursor) yield { rows: rows as unknown as R[] };
}

/** COMMIT found the transaction aborted by an earlier failed statement: nothing was written. */
export class TransactionAbortedError extends Error {
  constructor() {
    super('the transaction was rolled back: a statement in it failed (its error was caught), so nothing it wrote was kept');
    this.name = 'TransactionAbortedError';
  }
}

/** Untenanted queries on the pool; a Kysely transaction reserves one connection for its length. */
class PoolConnection implements DatabaseConnection {
  #reserved: postgres.ReservedSql | undefined;
  constructor(private readonly pool: postgres.Sql) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return execute<R>(this.#reserved ?? this.pool, query);
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return stream<R>(this.#reserved ?? this.pool, query, chunkSize);
  }

  async begin(settings: TransactionSettings): Promise<void> {
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
      const done = await reserved.unsafe(statement);
      if (statement === 'commit' && done.command === 'ROLLBACK') throw new TransactionAbortedError();
    } finally {
      reserved.release();
    }
  }
}

class PoolDriver implements Driver {
  constructor(private readonly pool: postgres.Sql) {}
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    return new PoolConnection(this.pool);
  }
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await (connection as PoolConnection).begin(settings);
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PoolConnection).end('commit');
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PoolConnection).end('rollback');
  }
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}
}

class PoolDialect implements Dialect {
  constructor(private readonly pool: postgres.Sql) {}
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver() {
    return new PoolDriver(this.pool);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
}

/**
 * The one connection of a withTenant transaction. It refuses to run anything once the
 * transaction ends, so a query that fn left running late can neither reach the next user
 * of the pooled connection (another tenant's transaction) nor run outside the transaction.
 */
class TenantConnection implements DatabaseConnection {
  #reserved: postgres.ReservedSql | undefined;
  constructor(reserved: postgres.ReservedSql) {
    this.#reserved = reserved;
  }

  #runner(): postgres.ReservedSql {
    if (!this.#reserved) throw new Error('withTenant: the transaction has ended; query refused');
    return this.#reserved;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return execute<R>(this.#runner(), query);
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return stream<R>(this.#runner(), query, chunkSize);
  }

  close(): void {
    this.#reserved = undefined;
  }
}

/**
 * The connection of readTenant: every statement is a read-only transaction of its own, written
 * in one packet as BEGIN READ ONLY and set_config, the statement, COMMIT, on a connection
 * reserved just for it: one round trip, and nothing held between statements.
 */
class TenantReadConnection implements DatabaseConnection {
  #open = true;
  constructor(
    private readonly pool: postgres.Sql,
    private readonly begin: string,
  ) {}

  #check(): void {
    if (!this.#open) throw new Error('readTenant: fn has returned; query refused');
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    this.#check();
    const reserved = await this.pool.reserve();
    try {
      // Handed over synchronously, so they run in this order on the connection: the statement
      // never before the setting, and the COMMIT after a failed statement only rolls back. (Out of
      // order, the statement would run with no tenant set, and see nothing.)
      const outcomes = await Promise.allSettled([reserved.unsafe(this.begin).execute(), send(reserved, query), reserved.unsafe('commit').execute()]);
      for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
      return toQueryResult<R>((outcomes[1] as PromiseFulfilledResult<postgres.RowList<postgres.Row[]>>).value);
    } finally {
      reserved.release();
    }
  }

  async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    this.#check();
    const reserved = await this.pool.reserve();
    let ended = false;
    try {
      await reserved.unsafe(this.begin);
      yield* stream<R>(reserved, query, chunkSize);
      ended = true;
      await reserved.unsafe('commit');
    } finally {
      // Also when the consumer stops early: the connection goes back with no transaction open.
      if (!ended) await reserved.unsafe('rollback').catch(() => {});
      reserved.release();
    }
  }

  close(): void {
    this.#open = false;
  }
}

/** Gives every query of one tenant Kysely its connection. */
class TenantConnectionProvider implements ConnectionProvider {
  constructor(private readonly connection: DatabaseConnection) {}
  provideConnection<T>(consumer: (connection: DatabaseConnection) => Promise<T>): Promise<T> {
    return consumer(this.connection);
  }
}

/** The driver behind tenant Kyselys: they are a transaction already, and cannot open another. */
class TenantDriver implements Driver {
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    throw new Error('tenant handle: queries run on its own connection only');
  }
  async beginTransaction(): Promise<void> {
    throw new Error('tenant handle: no nested transactions (withTenant already runs fn in one)');
  }
  async commitTransaction(): Promise<void> {}
  async rollbackTransaction(): Promise<void> {}
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}
}

export type Db = Kysely<Database>;
/** A Kysely bound to one tenant's transaction: RLS shows that tenant only. */
export type TenantDb = Kysely<Database>;

export interface DbHandle {
  /** Untenanted queries (tenant registry, health). Tenant tables read as empty here. */
  readonly db: Db;
  /** The raw postgres.js pool, for benchmarks and LISTEN. */
  readonly sql: postgres.Sql;
  /** fn's statements run in one transaction that sees this tenant only. */
  withTenant<T>(tenantId: string, fn: (trx: TenantDb) => Promise<T>): Promise<T>;
  /**
   * Reads for one tenant: each of fn's statements runs in a read-only transaction of its own
   * that sees this tenant only, at one round trip per statement. What a statement sees is what it
   * would see in withTenant's READ COMMITTED transaction (a fresh snapshot per statement either
   * way); what differs is that nothing holds the statements together: no write, no lock.
   */
  readTenant<T>(tenantId: string, fn: (db: TenantDb) => Promise<T>): Promise<T>;
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
  const dialect = new PoolDialect(sql);
  const config: KyselyConfig = { dialect };
  const db = new Kysely<Database>(config);
  // Built once: a tenant Kysely is then just this executor bound to its transaction's connection.
  const tenantDriver = new TenantDriver();
  const tenantExecutor: QueryExecutor = db.getExecutor();

  const tenantDb = (connection: DatabaseConnection): TenantDb =>
    new Kysely<Database>({
      config,
      dialect,
      driver: tenantDriver,
      executor: tenantExecutor.withConnectionProvider(new TenantConnectionProvider(connection)),
    });

  // Validated so it can be sent inline: BEGIN and set_config then travel as one simple query.
  const setTenant = (tenantId: string, caller: string) => {
    if (!isUuid(tenantId)) throw new TypeError(`${caller}: not a tenant id: ${JSON.stringify(tenantId)}`);
    return `select set_config('app.tenant_id', '${tenantId}', true)`;
  };

  async function readTenant<T>(tenantId: string, fn: (db: TenantDb) => Promise<T>): Promise<T> {
    const connection = new TenantReadConnection(sql, `begin read only; ${setTenant(tenantId, 'readTenant')}`);
    try {
      return await fn(tenantDb(connection));
    } finally {
      connection.close();
    }
  }

  async function withTenant<T>(tenantId: string, fn: (trx: TenantDb) => Promise<T>): Promise<T> {
    const begin = `begin; ${setTenant(tenantId, 'withTenant')}`;
    const reserved = await sql.reserve();
    const connection = new TenantConnection(reserved);
    // Handed over now, not awaited: postgres.js writes what it is handed within one tick as one
    // packet, so fn's first statement travels with it and both answer in one round trip. The
    // connection runs them in order, so no statement of fn runs before the setting. Had BEGIN or
    // set_config failed, fn's statements failed too (or ran with no tenant set: the policies
    // match nothing), and the failure is raised below, which rolls back.
    const begun = reserved
      .unsafe(begin)
      .execute()
      .then(
        () => undefined,
        (error: unknown) => error ?? new Error('withTenant: BEGIN failed'),
      );
    try {
      const result = await fn(tenantDb(connection));
      const failed = await begun;
      if (failed) throw failed;
      connection.close();
      // A statement that failed inside fn (its error caught there) aborted the transaction:
      // PostgreSQL then answers COMMIT with ROLLBACK. Say so, rather than report writes that
      // were thrown away as done.
      const done = await reserved.unsafe('commit');
      if (done.command === 'ROLLBACK') throw new TransactionAbortedError();
      return result;
    } catch (error) {
      connection.close();
      await reserved.unsafe('rollback').catch(() => {});
      throw error;
    } finally {
      reserved.release();
    }
  }

  return {
    db,
    sql,
    withTenant,
    readTenant,
    async ping() {
      await sql`select 1`;
    },
    async close() {
      await db.destroy();
      await sql.end({ timeout: 5 });
    },
  };
}
