// Environment -> one typed, frozen Config. Parsed once at start; a missing or malformed
// variable stops the process with one clear line naming it. No secret has a default here.

export interface Config {
  readonly env: 'development' | 'test' | 'production';
  readonly http: { readonly host: string; readonly port: number; readonly trustProxy: boolean };
  /** Application role: owns nothing, no BYPASSRLS. */
  readonly databaseUrl: string;
  /** Owner role: runs migrations and operator commands. Only needed by those roles. */
  readonly databaseOwnerUrl: string | undefined;
  readonly redisUrl: string;
  readonly s3: {
    readonly endpoint: string | undefined;
    readonly region: string;
    readonly bucket: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly forcePathStyle: boolean;
  };
  readonly smtp: { readonly url: string };
  readonly tenantsDir: string;
  readonly logLevel: string;
  /** Bearer token for /metrics; unset: only loopback callers may read it. */
  readonly metricsToken: string | undefined;
  /**
   * The consortium operator's console: its own host (never a tenant's) and its identity
   * declaration file (src/identity/operator.ts). Unset: no operator console is served.
   */
  readonly operator: { readonly host: string; readonly declarationFile: string } | undefined;
  /** Encrypts the per-tenant SAML SP private keys at rest (SAML_KEY_SECRET); required to serve SAML logins. */
  readonly samlKeySecret: string | undefined;
  /** clamd's TCP address (CLAMD_ADDRESS=host:port): new documents are scanned; unset: the scan is off. */
  readonly clamd: { readonly host: string; readonly port: number } | undefined;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new ConfigError(`${name} is required but not set`);
  return value.trim();
}

function optional(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value.trim() === '' ? fallback : value.trim();
}

function url(env: Env, name: string, protocols: string[], value = required(env, name)): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')} (got ${parsed.protocol})`);
  }
  return value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name, String(fallback));
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number (got "${raw}")`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max} (got ${n})`);
  return n;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = optional(env, name, String(fallback)).toLowerCase();
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false (got "${raw}")`);
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === 'object') deepFreeze(v);
  return Object.freeze(o);
}

function operatorConsole(env: Env): Config['operator'] {
  const host = env.OPERATOR_HOST?.trim().toLowerCase();
  if (!host) return undefined;
  if (!/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(host)) throw new ConfigError(`OPERATOR_HOST must be a host name without port (got "${host}")`);
  return { host, declarationFile: required(env, 'OPERATOR_DECLARATION') };
}

function samlKeySecret(env: Env): string | undefined {
  const value = env.SAML_KEY_SECRET?.trim();
  if (!value) return undefined;
  if (value.length < 32) throw new ConfigError('SAML_KEY_SECRET must be at least 32 characters (e.g. `openssl rand -base64 32`)');
  return value;
}

function clamdAddress(env: Env): Config['clamd'] {
  const value = env.CLAMD_ADDRESS?.trim();
  if (!value) return undefined;
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new ConfigError(`CLAMD_ADDRESS must be host:port, e.g. 127.0.0.1:3310 (got "${value}")`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = optional(env, 'NODE_ENV', 'development');
  if (nodeEnv !== 'development' && nodeEnv !== 'test' && nodeEnv !== 'production') {
    throw new ConfigError(`NODE_ENV must be development, test or production (got "${nodeEnv}")`);
  }
  const ownerUrl = env.DATABASE_OWNER_URL?.trim();
  const s3Endpoint = env.S3_ENDPOINT?.trim();
  return deepFreeze({
    env: nodeEnv,
    http: {
      host: optional(env, 'HOST', '127.0.0.1'),
      port: integer(env, 'PORT', 3000, 0, 65535),
      trustProxy: boolean(env, 'TRUST_PROXY', false),
    },
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databaseOwnerUrl: ownerUrl ? url(env, 'DATABASE_OWNER_URL', ['postgres:', 'postgresql:'], ownerUrl) : undefined,
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    s3: {
      endpoint: s3Endpoint ? url(env, 'S3_ENDPOINT', ['http:', 'https:'], s3Endpoint) : undefined,
      region: optional(env, 'S3_REGION', 'eu-west-3'),
      bucket: required(env, 'S3_BUCKET'),
      accessKeyId: required(env, 'S3_ACCESS_KEY_ID'),
      secretAccessKey: required(env, 'S3_SECRET_ACCESS_KEY'),
      forcePathStyle: boolean(env, 'S3_FORCE_PATH_STYLE', false),
    },
    smtp: { url: url(env, 'SMTP_URL', ['smtp:', 'smtps:']) },
    tenantsDir: optional(env, 'TENANTS_DIR', 'tenants'),
    logLevel: optional(env, 'LOG_LEVEL', nodeEnv === 'test' ? 'silent' : 'info'),
    metricsToken: env.METRICS_TOKEN?.trim() || undefined,
    operator: operatorConsole(env),
    samlKeySecret: samlKeySecret(env),
    clamd: clamdAddress(env),
  } satisfies Config);
}
