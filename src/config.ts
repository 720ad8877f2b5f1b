import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { AppError } from './errors.ts';

/**
 * Every setting Enclave reads, in one schema. `loadConfig` is called once, by the composition
 * root, with `process.env`; nothing else reads the environment. Each variable is documented in
 * `.env.example`.
 */
const schema = z.object({
  ENCLAVE_DATA_DIR: z.string().min(1).default('./data'),
  ENCLAVE_KEYRING: z.string().min(1).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  ENCLAVE_HOST: z.string().min(1).default('127.0.0.1'),
  ENCLAVE_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  ENCLAVE_PUBLIC_URL: z.url().optional(),
  ENCLAVE_STORE_DIR: z.string().min(1).optional(),
  ENCLAVE_ENGINE_THREADS: z.coerce.number().int().min(1).max(256).optional(),
  ENCLAVE_ENGINE_MEMORY: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i, 'a size such as 4GB')
    .optional(),
  ENCLAVE_WORKSPACE_QUOTA: z.string().regex(/^\d+(\.\d+)?\s*(MB|GB|TB|MiB|GiB|TiB)$/i, 'a size such as 10GB').default('10GiB'),
  ENCLAVE_WORKSPACE_MEMORY: z.string().regex(/^\d+(\.\d+)?\s*(MB|GB|TB|MiB|GiB|TiB)$/i, 'a size such as 2GB').default('2GiB'),
  ENCLAVE_WORKSPACE_THREADS: z.coerce.number().int().min(1).max(256).default(2),
  ENCLAVE_WORKSPACE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(24 * 3600).default(300),
  ENCLAVE_WORKSPACE_ROW_CAP: z.coerce.number().int().min(1).max(100_000_000).default(1_000_000),
  ENCLAVE_WORKSPACE_MAX_SESSIONS: z.coerce.number().int().min(1).max(1000).default(32),
  ENCLAVE_WORKSPACE_IDLE_MINUTES: z.coerce.number().min(0.01).max(24 * 60).default(15),
  ENCLAVE_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  ENCLAVE_AUDIT_LOG_NAME: z.string().regex(/^[^\s+]+$/, 'no spaces or "+"').default('enclave.invalid/audit'),
  ENCLAVE_AUDIT_CHECKPOINT_SECONDS: z.coerce.number().int().min(0).default(60),
  ENCLAVE_AUDIT_CHECKPOINT_EVENTS: z.coerce.number().int().min(1).default(1000),
  ENCLAVE_AUDIT_SIGNING_KEY: z.string().min(1).optional(),
  ENCLAVE_RELEASE_SIGNING_KEY: z.string().min(1).optional(),
  ENCLAVE_AUDIT_WITNESSES: z.string().regex(/^\s*https?:\/\/\S+\s+[^\s+]+\+[0-9a-f]{8}\+\S+\s*(,\s*https?:\/\/\S+\s+[^\s+]+\+[0-9a-f]{8}\+\S+\s*)*$/, 'comma-separated "URL KEY" pairs').optional(),
  ENCLAVE_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(183, 'the log must be kept at least six months').default(1096),
  ENCLAVE_LANGUAGE: z.enum(['fr', 'en']).default('fr'),
  ENCLAVE_S3_ENDPOINT: z.url().optional(),
  ENCLAVE_S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)').optional(),
  ENCLAVE_S3_REGION: z.string().min(1).default('us-east-1'),
  ENCLAVE_S3_PREFIX: z.string().optional(),
  ENCLAVE_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  ENCLAVE_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  ENCLAVE_STORE_CACHE_MAX: z.string().regex(/^\d+(\.\d+)?\s*(MB|GB|TB|MiB|GiB|TiB)$/i, 'a size such as 50GB').default('20GiB'),
  ENCLAVE_OIDC_ISSUER: z.url().optional(),
  ENCLAVE_OIDC_CLIENT_ID: z.string().min(1).optional(),
  ENCLAVE_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  ENCLAVE_OIDC_REQUIRED_ACR: z.string().regex(/^[\w.:/-]+(,[\w.:/-]+)*$/, 'comma-separated acr values').optional(),
  ENCLAVE_OIDC_REQUIRED_AMR: z.string().regex(/^[\w-]+(,[\w-]+)*$/, 'comma-separated amr values').optional(),
  ENCLAVE_SESSION_IDLE_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(30),
  ENCLAVE_SESSION_MAX_HOURS: z.coerce.number().int().min(1).max(7 * 24).default(12),
  ENCLAVE_LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  ENCLAVE_DEMO_MODE: z.enum(['on', 'off']).default('off'),
  ENCLAVE_DEMO_MODE_BEYOND_LOOPBACK: z.enum(['on', 'off']).default('off'),
  ENCLAVE_SMTP_URL: z.string().regex(/^smtps?:\/\/[^\s/?#]+(\/)?(\?\S*)?$/, 'an smtp:// or smtps:// URL').optional(),
  ENCLAVE_SMTP_FROM: z.string().regex(/^([^<>\r\n]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/, 'an e-mail address, optionally with a name').optional(),
  ENCLAVE_ENGINE: z.enum(['duckdb', 'trino']).default('duckdb'),
  ENCLAVE_TRINO_URL: z.url().optional(),
  ENCLAVE_TRINO_RULES_FILE: z.string().min(1).optional(),
  ENCLAVE_TRINO_CATALOG: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a Trino catalog name').default('enclave'),
  ENCLAVE_TRINO_WAREHOUSE: z.string().min(1).optional(),
  ENCLAVE_TRINO_S3_ENDPOINT: z.url().optional(),
  ENCLAVE_TRINO_S3_CA_FILE: z.string().min(1).optional(),
  ENCLAVE_PGWIRE_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  ENCLAVE_PGWIRE_HOST: z.string().min(1).default('127.0.0.1'),
  ENCLAVE_PGWIRE_TLS_CERT: z.string().min(1).optional(),
  ENCLAVE_PGWIRE_TLS_KEY: z.string().min(1).optional(),
  ENCLAVE_PGWIRE_RECHECK_SECONDS: z.coerce.number().int().min(1).max(300).default(5),
});

const hints: Record<string, string> = {
  DATABASE_URL: 'unset it to use the embedded PGlite database, or give e.g. postgresql://user@host:5432/enclave',
  ENCLAVE_PORT: 'a TCP port such as 8080 (0 picks a free one)',
  ENCLAVE_ENGINE_MEMORY: 'e.g. ENCLAVE_ENGINE_MEMORY=4GB',
  ENCLAVE_STORE_CACHE_MAX: 'e.g. ENCLAVE_STORE_CACHE_MAX=50GB (local disk kept for files read from the S3 store)',
  ENCLAVE_OIDC_ISSUER: 'the https URL of your OpenID provider (e.g. Pro Santé Connect); unset to run the embedded provider',
  ENCLAVE_OIDC_REQUIRED_ACR: 'e.g. eidas2,eidas3',
  ENCLAVE_OIDC_REQUIRED_AMR: 'e.g. otp (every listed method must appear in the amr claim)',
  ENCLAVE_AUDIT_RETENTION_DAYS: 'SecNumCloud asks for at least six months; the default keeps three years',
  ENCLAVE_AUDIT_WITNESSES: 'e.g. "http://127.0.0.1:7380 enclave-witness+1a2b3c4d+BAx…" (the line printed by node src/audit/witness-main.ts); docs/audit.md',
  ENCLAVE_SMTP_URL: 'e.g. smtp://user:password@mail.example.org:587 (STARTTLS) or smtps://mail.example.org:465; unset to send no e-mail',
  ENCLAVE_SMTP_FROM: 'e.g. ENCLAVE_SMTP_FROM="Enclave <enclave@example.org>"',
  ENCLAVE_ENGINE: 'the deployment\'s default engine: duckdb (embedded, the default) or trino (ENCLAVE_TRINO_URL and ENCLAVE_TRINO_RULES_FILE then required; docs/deploy/trino.md); with ENCLAVE_TRINO_URL beside duckdb, Trino is a second engine chosen per project',
  ENCLAVE_TRINO_S3_ENDPOINT: 'with Trino configured: the S3 endpoint where dataset versions for Trino are kept under SSE-C (bucket and credentials of ENCLAVE_S3_*)',
  ENCLAVE_TRINO_S3_CA_FILE: 'with ENCLAVE_TRINO_S3_ENDPOINT over https: a PEM file of CA certificates to trust for it besides the system\'s (a private CA; Trino trusts it through its JVM truststore)',
  ENCLAVE_DEMO_MODE: 'on or off (default off; `npm start` turns it on when serving on loopback)',
  ENCLAVE_DEMO_MODE_BEYOND_LOOPBACK: 'on or off: on lets demo mode run on a non-loopback host, knowingly',
  ENCLAVE_PGWIRE_PORT: 'the PostgreSQL endpoint\'s TCP port, e.g. 5433 (unset: no endpoint; docs/pgwire.md)',
  ENCLAVE_PGWIRE_RECHECK_SECONDS: 'how often open PostgreSQL connections re-check their permit, 1 to 300 (default 5)',
};

/** True for a host name or address that only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** The workspace engines a deployment may run. */
export type EngineKind = 'duckdb' | 'trino';

/** A Trino cluster (docs/deploy/trino.md) whose coordinator reads `rulesFile` as its access control. */
export interface TrinoEngineConfig {
  readonly kind: 'trino'; readonly url: string; readonly rulesFile: string; readonly catalog: string; readonly warehouse?: string;
  /**
   * ENCLAVE_TRINO_S3_ENDPOINT: dataset versions for Trino go to this S3 endpoint (the bucket and
   * credentials of ENCLAVE_S3_*, under `<prefix>trino/`), encrypted by the store with SSE-C keys
   * derived from the datasets' keys (docs/encryption-at-rest-trino.md).
   */
  readonly s3?: { readonly endpoint: string; readonly bucket: string; readonly region: string; readonly prefix: string; readonly accessKeyId: string; readonly secretAccessKey: string; readonly caFile?: string };
}

export interface Config {
  readonly dataDir: string;
  readonly keyringPath: string;
  readonly databaseUrl: string | undefined;
  /** Directory of the embedded PGlite database (used when databaseUrl is undefined). */
  readonly pgliteDir: string;
  readonly host: string;
  readonly port: number;
  readonly publicUrl: string | undefined;
  readonly storeDir: string;
  readonly engine: { readonly threads: number | undefined; readonly memoryLimit: string | undefined };
  /**
   * Projects' workspaces (docs/workspace.md): one sandboxed engine process per open workspace,
   * with these limits; saved tables are kept encrypted under `scratchDir/<project>`.
   */
  readonly workspace: {
    readonly scratchDir: string;
    readonly quotaBytes: number;
    readonly memoryBytes: number;
    readonly threads: number;
    readonly statementTimeoutMs: number;
    readonly rowCap: number;
    readonly maxSessions: number;
    /** An engine process idle this long is ended (the next statement opens a new one). */
    readonly idleMs: number;
  };
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly audit: {
    readonly logName: string;
    readonly checkpointSeconds: number;
    /** At most this many events between checkpoints (with checkpointSeconds, the window a witness cannot see). */
    readonly checkpointEvents: number;
    readonly retentionDays: number;
    /** The audit log's signing key file, apart from the master keyring (default beside it). */
    readonly signingKeyPath: string;
    /** C2SP tlog-witnesses that cosign every checkpoint. */
    readonly witnesses: ReadonlyArray<{ readonly url: string; readonly key: string }>;
  };
  readonly language: 'fr' | 'en';
  /** The airlock (docs/airlock.md): the Ed25519 key that signs released bundles, a file of its own (default beside the keyring). */
  readonly airlock: { readonly releaseSigningKeyPath: string };
  /** The S3-compatible store (store name `s3`), when ENCLAVE_S3_ENDPOINT is set. */
  readonly s3: { readonly endpoint: string; readonly bucket: string; readonly region: string; readonly prefix: string; readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  /** Local read-through cache of files read from remote stores (docs/migration.md). */
  readonly storeCacheDir: string;
  /** Size cap of that cache in bytes; least recently used files not in use are evicted. */
  readonly storeCacheMaxBytes: number;
  /**
   * OpenID Connect login. `issuer` undefined: the embedded provider runs under /idp, with its
   * client and keys generated on first start into `embeddedIdpSecretsPath` (beside the keyring).
   */
  readonly oidc: {
    readonly issuer: string | undefined;
    readonly clientId: string | undefined;
    readonly clientSecret: string | undefined;
    readonly requiredAcr: readonly string[];
    readonly requiredAmr: readonly string[];
    readonly embeddedIdpSecretsPath: string;
    /** Failed second-factor attempts (after a right password) before the embedded provider locks an account. */
    readonly maxLoginFailures: number;
  };
  /**
   * Demo mode (ENCLAVE_DEMO_MODE): the embedded provider's login page lists the demo people. The
   * password and the TOTP code are required all the same. Refused unless the server is reached
   * on loopback only, or ENCLAVE_DEMO_MODE_BEYOND_LOOPBACK=on says the operator wants it anyway.
   */
  readonly demoMode: boolean;
  readonly sessions: { readonly idleMs: number; readonly absoluteMs: number };
  /** E-mail of notifications through SMTP, when ENCLAVE_SMTP_URL is set (the URL may hold a password: never print it). */
  readonly smtp: { readonly url: string; readonly from: string } | undefined;
  /**
   * The workspace engine (ENCLAVE_ENGINE): DuckDB embedded by default, or a Trino cluster
   * (docs/deploy/trino.md) whose coordinator reads `rulesFile` as its access control.
   */
  readonly workspaceEngine: { readonly kind: 'duckdb' } | TrinoEngineConfig;
  /**
   * The Trino cluster, when ENCLAVE_TRINO_URL is set: the default engine with ENCLAVE_ENGINE=trino,
   * else a second engine the operator may put projects on (`enclave projects engine`).
   */
  readonly trino: TrinoEngineConfig | undefined;
  /** The engines projects may be put on: DuckDB always (embedded), Trino when configured. */
  readonly engines: readonly EngineKind[];
  /**
   * The PostgreSQL-protocol endpoint into workspaces (docs/pgwire.md), when ENCLAVE_PGWIRE_PORT
   * is set: TLS with the given certificate and key, or plain TCP on a loopback host only.
   */
  readonly pgwire: { readonly host: string; readonly port: number; readonly tls: { readonly certPath: string; readonly keyPath: string } | undefined; readonly recheckMs: number } | undefined;
}

/**
 * Validates the whole environment at once and returns a frozen Config. Every problem is
 * reported together, each with the variable's name and how to fix it.
 *
 * @example
 *   const config = loadConfig(process.env);
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, cwd: string = process.cwd()): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([k, v]) => k in schema.shape && v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? '?');
      const hint = hints[name];
      return `${name}: ${i.message}${hint === undefined ? '' : ` (${hint})`}`;
    });
    throw new AppError('invalid', `configuration is invalid:\n  ${problems.join('\n  ')}`, {
      hint: 'fix the variables above (see .env.example for every setting)',
      details: { problems },
    });
  }
  const e = parsed.data;
  if (e.ENCLAVE_S3_ENDPOINT !== undefined) {
    const missing = (['ENCLAVE_S3_BUCKET', 'ENCLAVE_S3_ACCESS_KEY_ID', 'ENCLAVE_S3_SECRET_ACCESS_KEY'] as const).filter((k) => e[k] === undefined);
    if (missing.length > 0) {
      throw new AppError('invalid', `configuration is invalid:\n  ${missing.map((k) => `${k}: required when ENCLAVE_S3_ENDPOINT is set`).join('\n  ')}`, { hint: 'give the bucket and the credentials of the S3-compatible store, or unset ENCLAVE_S3_ENDPOINT', details: { problems: missing } });
    }
  }
  if (e.ENCLAVE_OIDC_ISSUER !== undefined) {
    const missing = (['ENCLAVE_OIDC_CLIENT_ID', 'ENCLAVE_OIDC_CLIENT_SECRET'] as const).filter((k) => e[k] === undefined);
    const problems = missing.map((k) => `${k}: required when ENCLAVE_OIDC_ISSUER is set`);
    if (!e.ENCLAVE_OIDC_ISSUER.startsWith('https://') && !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(e.ENCLAVE_OIDC_ISSUER)) problems.push('ENCLAVE_OIDC_ISSUER: an external issuer must be https (plain http only on loopback, for tests)');
    if (problems.length > 0) {
      throw new AppError('invalid', `configuration is invalid:\n  ${problems.join('\n  ')}`, { hint: 'give the client registered with your OpenID provider, or unset ENCLAVE_OIDC_ISSUER to use the embedded provider', details: { problems } });
    }
  }
  if (e.ENCLAVE_DEMO_MODE === 'on') {
    const problems: string[] = [];
    if (e.ENCLAVE_OIDC_ISSUER !== undefined) problems.push('ENCLAVE_DEMO_MODE: demo people exist only in the embedded provider, and ENCLAVE_OIDC_ISSUER names an external one');
    const publicHost = e.ENCLAVE_PUBLIC_URL === undefined ? undefined : new URL(e.ENCLAVE_PUBLIC_URL).hostname;
    const exposed = !isLoopbackHost(e.ENCLAVE_HOST) || (publicHost !== undefined && !isLoopbackHost(publicHost));
    if (exposed && e.ENCLAVE_DEMO_MODE_BEYOND_LOOPBACK !== 'on') {
      problems.push(`ENCLAVE_DEMO_MODE: demo mode lists every demo account on the login page, and this server is reachable beyond loopback (ENCLAVE_HOST=${e.ENCLAVE_HOST}${publicHost === undefined ? '' : `, ENCLAVE_PUBLIC_URL host ${publicHost}`})`);
    }
    if (problems.length > 0) {
      throw new AppError('invalid', `configuration is invalid:\n  ${problems.join('\n  ')}`, {
        hint: 'set ENCLAVE_DEMO_MODE=off; or serve on 127.0.0.1 only; or, knowing that anyone who reaches the server sees the demo accounts, also set ENCLAVE_DEMO_MODE_BEYOND_LOOPBACK=on',
        details: { problems },
      });
    }
  }
  if (e.ENCLAVE_SMTP_URL !== undefined && e.ENCLAVE_SMTP_FROM === undefined) {
    throw new AppError('invalid', 'configuration is invalid:\n  ENCLAVE_SMTP_FROM: required when ENCLAVE_SMTP_URL is set', { hint: 'give the sender address of the notification e-mails, e.g. ENCLAVE_SMTP_FROM="Enclave <enclave@example.org>", or unset ENCLAVE_SMTP_URL', details: { problems: ['ENCLAVE_SMTP_FROM'] } });
  }
  // Trino is configured when the deployment's default is Trino, or beside the DuckDB default when
  // its URL is given (a second engine that the operator puts projects on, one by one).
  if (e.ENCLAVE_ENGINE === 'trino' || e.ENCLAVE_TRINO_URL !== undefined) {
    const because = e.ENCLAVE_ENGINE === 'trino' ? 'ENCLAVE_ENGINE=trino' : 'ENCLAVE_TRINO_URL is set';
    const missing: string[] = (['ENCLAVE_TRINO_URL', 'ENCLAVE_TRINO_RULES_FILE'] as const).filter((k) => e[k] === undefined);
    if (e.ENCLAVE_TRINO_S3_ENDPOINT !== undefined) missing.push(...(['ENCLAVE_S3_BUCKET', 'ENCLAVE_S3_ACCESS_KEY_ID', 'ENCLAVE_S3_SECRET_ACCESS_KEY'] as const).filter((k) => e[k] === undefined));
    if (e.ENCLAVE_TRINO_S3_CA_FILE !== undefined && !(e.ENCLAVE_TRINO_S3_ENDPOINT ?? '').startsWith('https:')) {
      throw new AppError('invalid', 'configuration is invalid:\n  ENCLAVE_TRINO_S3_CA_FILE: given, but ENCLAVE_TRINO_S3_ENDPOINT is not an https:// URL', { hint: 'give the object store\'s https endpoint, or unset ENCLAVE_TRINO_S3_CA_FILE', details: { problems: ['ENCLAVE_TRINO_S3_CA_FILE'] } });
    }
    // SSE-C sends each object's key in the request's headers: over plain http, in clear on the network.
    const sseC = e.ENCLAVE_TRINO_S3_ENDPOINT === undefined ? undefined : new URL(e.ENCLAVE_TRINO_S3_ENDPOINT);
    if (sseC !== undefined && sseC.protocol !== 'https:' && !isLoopbackHost(sseC.hostname)) {
      throw new AppError('invalid', `configuration is invalid:\n  ENCLAVE_TRINO_S3_ENDPOINT: ${sseC.protocol}//${sseC.host} is reached beyond this machine without TLS, and SSE-C would send the dataset keys in clear`, { hint: 'give the object store\'s https:// endpoint (with ENCLAVE_TRINO_S3_CA_FILE for a private CA); plain http only on loopback, for tests', details: { problems: ['ENCLAVE_TRINO_S3_ENDPOINT'] } });
    }
    if (e.ENCLAVE_TRINO_S3_ENDPOINT !== undefined && e.ENCLAVE_TRINO_WAREHOUSE !== undefined) {
      throw new AppError('invalid', 'configuration is invalid:\n  ENCLAVE_TRINO_WAREHOUSE and ENCLAVE_TRINO_S3_ENDPOINT: give one (a development warehouse in clear, or the SSE-C object store)', { hint: 'unset ENCLAVE_TRINO_WAREHOUSE outside development', details: { problems: ['ENCLAVE_TRINO_WAREHOUSE', 'ENCLAVE_TRINO_S3_ENDPOINT'] } });
    }
    if (missing.length > 0) {
      throw new AppError('invalid', `configuration is invalid:\n  ${missing.map((k) => `${k}: required when ${because}`).join('\n  ')}`, { hint: e.ENCLAVE_ENGINE === 'trino' ? 'give the Trino coordinator URL and the access-control rules file it reads (scripts/trino.sh start prints both), or set ENCLAVE_ENGINE=duckdb' : 'give the access-control rules file the Trino coordinator reads (scripts/trino.sh rules prints it), or unset ENCLAVE_TRINO_URL to run DuckDB only', details: { problems: missing } });
    }
  }
  if (e.ENCLAVE_PGWIRE_PORT !== undefined) {
    const problems: string[] = [];
    if ((e.ENCLAVE_PGWIRE_TLS_CERT === undefined) !== (e.ENCLAVE_PGWIRE_TLS_KEY === undefined)) problems.push('ENCLAVE_PGWIRE_TLS_CERT and ENCLAVE_PGWIRE_TLS_KEY: give both (the PEM certificate and its private key) or neither');
    else if (e.ENCLAVE_PGWIRE_TLS_CERT === undefined && !isLoopbackHost(e.ENCLAVE_PGWIRE_HOST)) problems.push(`ENCLAVE_PGWIRE_HOST: ${e.ENCLAVE_PGWIRE_HOST} is reachable beyond this machine, and plain TCP would carry project tokens and rows in clear`);
    if (problems.length > 0) {
      throw new AppError('invalid', `configuration is invalid:\n  ${problems.join('\n  ')}`, { hint: 'set ENCLAVE_PGWIRE_TLS_CERT and ENCLAVE_PGWIRE_TLS_KEY to the platform\'s certificate and key, or bind the endpoint to 127.0.0.1', details: { problems } });
    }
  }
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(cwd, p));
  const dataDir = abs(e.ENCLAVE_DATA_DIR);
  const keyringPath = abs(e.ENCLAVE_KEYRING ?? join(homedir(), '.config', 'enclave', 'keyring.json'));
  const list = (v: string | undefined): string[] => (v === undefined ? [] : v.split(',').filter((x) => x !== ''));
  const trino: TrinoEngineConfig | undefined = e.ENCLAVE_TRINO_URL === undefined ? undefined : {
    kind: 'trino', url: e.ENCLAVE_TRINO_URL, rulesFile: abs(e.ENCLAVE_TRINO_RULES_FILE ?? ''), catalog: e.ENCLAVE_TRINO_CATALOG, ...(e.ENCLAVE_TRINO_WAREHOUSE === undefined ? {} : { warehouse: abs(e.ENCLAVE_TRINO_WAREHOUSE) }),
    ...(e.ENCLAVE_TRINO_S3_ENDPOINT === undefined ? {} : { s3: { endpoint: e.ENCLAVE_TRINO_S3_ENDPOINT, bucket: e.ENCLAVE_S3_BUCKET ?? '', region: e.ENCLAVE_S3_REGION, prefix: [(e.ENCLAVE_S3_PREFIX ?? '').replace(/^\/+|\/+$/g, ''), 'trino'].filter((x) => x !== '').join('/'), accessKeyId: e.ENCLAVE_S3_ACCESS_KEY_ID ?? '', secretAccessKey: e.ENCLAVE_S3_SECRET_ACCESS_KEY ?? '', ...(e.ENCLAVE_TRINO_S3_CA_FILE === undefined ? {} : { caFile: abs(e.ENCLAVE_TRINO_S3_CA_FILE) }) } }),
  };
  const config: Config = {
    dataDir,
    // Outside the repository and the data directory by default, so a copied data directory
    // (or a backup of it) never carries the master key along.
    keyringPath,
    databaseUrl: e.DATABASE_URL,
    pgliteDir: join(dataDir, 'metadata'),
    host: e.ENCLAVE_HOST,
    port: e.ENCLAVE_PORT,
    publicUrl: e.ENCLAVE_PUBLIC_URL,
    storeDir: abs(e.ENCLAVE_STORE_DIR ?? join(dataDir, 'store')),
    engine: { threads: e.ENCLAVE_ENGINE_THREADS, memoryLimit: e.ENCLAVE_ENGINE_MEMORY },
    workspace: {
      scratchDir: join(dataDir, 'workspaces'),
      quotaBytes: parseSize(e.ENCLAVE_WORKSPACE_QUOTA),
      memoryBytes: parseSize(e.ENCLAVE_WORKSPACE_MEMORY),
      threads: e.ENCLAVE_WORKSPACE_THREADS,
      statementTimeoutMs: e.ENCLAVE_WORKSPACE_TIMEOUT_SECONDS * 1000,
      rowCap: e.ENCLAVE_WORKSPACE_ROW_CAP,
      maxSessions: e.ENCLAVE_WORKSPACE_MAX_SESSIONS,
      idleMs: Math.round(e.ENCLAVE_WORKSPACE_IDLE_MINUTES * 60_000),
    },
    logLevel: e.ENCLAVE_LOG_LEVEL,
    audit: {
      logName: e.ENCLAVE_AUDIT_LOG_NAME,
      checkpointSeconds: e.ENCLAVE_AUDIT_CHECKPOINT_SECONDS,
      checkpointEvents: e.ENCLAVE_AUDIT_CHECKPOINT_EVENTS,
      retentionDays: e.ENCLAVE_AUDIT_RETENTION_DAYS,
      signingKeyPath: abs(e.ENCLAVE_AUDIT_SIGNING_KEY ?? join(dirname(keyringPath), 'audit-signing-key.json')),
      witnesses: (e.ENCLAVE_AUDIT_WITNESSES ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '').map((x) => {
        const [url = '', key = ''] = x.split(/\s+/);
        return { url, key };
      }),
    },
    language: e.ENCLAVE_LANGUAGE,
    airlock: { releaseSigningKeyPath: abs(e.ENCLAVE_RELEASE_SIGNING_KEY ?? join(dirname(keyringPath), 'release-signing-key.json')) },
    s3: e.ENCLAVE_S3_ENDPOINT === undefined ? undefined : {
      endpoint: e.ENCLAVE_S3_ENDPOINT, bucket: e.ENCLAVE_S3_BUCKET ?? '', region: e.ENCLAVE_S3_REGION, prefix: e.ENCLAVE_S3_PREFIX ?? '',
      accessKeyId: e.ENCLAVE_S3_ACCESS_KEY_ID ?? '', secretAccessKey: e.ENCLAVE_S3_SECRET_ACCESS_KEY ?? '',
    },
    storeCacheDir: join(dataDir, 'cache', 'stores'),
    storeCacheMaxBytes: parseSize(e.ENCLAVE_STORE_CACHE_MAX),
    oidc: {
      issuer: e.ENCLAVE_OIDC_ISSUER,
      clientId: e.ENCLAVE_OIDC_CLIENT_ID,
      clientSecret: e.ENCLAVE_OIDC_CLIENT_SECRET,
      requiredAcr: list(e.ENCLAVE_OIDC_REQUIRED_ACR),
      // The embedded provider always asks for the password and a TOTP code, and Enclave checks
      // both are in the ID token; an external one must prove a second factor too unless told otherwise.
      requiredAmr: e.ENCLAVE_OIDC_REQUIRED_AMR === undefined ? (e.ENCLAVE_OIDC_ISSUER === undefined ? ['pwd', 'otp'] : []) : list(e.ENCLAVE_OIDC_REQUIRED_AMR),
      embeddedIdpSecretsPath: join(dirname(keyringPath), 'embedded-idp.json'),
      maxLoginFailures: e.ENCLAVE_LOGIN_MAX_FAILURES,
    },
    demoMode: e.ENCLAVE_DEMO_MODE === 'on',
    sessions: { idleMs: e.ENCLAVE_SESSION_IDLE_MINUTES * 60_000, absoluteMs: e.ENCLAVE_SESSION_MAX_HOURS * 3_600_000 },
    smtp: e.ENCLAVE_SMTP_URL === undefined ? undefined : { url: e.ENCLAVE_SMTP_URL, from: e.ENCLAVE_SMTP_FROM ?? '' },
    workspaceEngine: e.ENCLAVE_ENGINE === 'trino' && trino !== undefined ? trino : { kind: 'duckdb' },
    trino,
    engines: trino === undefined ? ['duckdb'] : ['duckdb', 'trino'],
    pgwire: e.ENCLAVE_PGWIRE_PORT === undefined ? undefined : {
      host: e.ENCLAVE_PGWIRE_HOST, port: e.ENCLAVE_PGWIRE_PORT, recheckMs: e.ENCLAVE_PGWIRE_RECHECK_SECONDS * 1000,
      tls: e.ENCLAVE_PGWIRE_TLS_CERT === undefined || e.ENCLAVE_PGWIRE_TLS_KEY === undefined ? undefined : { certPath: abs(e.ENCLAVE_PGWIRE_TLS_CERT), keyPath: abs(e.ENCLAVE_PGWIRE_TLS_KEY) },
    },
  };
  return deepFreeze(config);
}

/**
 * The environment of the quick start (`npm start`, `npm run up`): demo mode on unless the
 * operator said otherwise, when the embedded provider runs and the server is reached on loopback
 * only. `enclave serve` and every other entry keep the default, off.
 */
export function quickStartEnv(env: Readonly<Record<string, string | undefined>>): Readonly<Record<string, string | undefined>> {
  const set = (k: string): boolean => (env[k] ?? '') !== '';
  if (set('ENCLAVE_DEMO_MODE') || set('ENCLAVE_OIDC_ISSUER')) return env;
  if (!isLoopbackHost(env['ENCLAVE_HOST'] || '127.0.0.1')) return env;
  const publicUrl = env['ENCLAVE_PUBLIC_URL'];
  if (publicUrl !== undefined && publicUrl !== '' && !(URL.canParse(publicUrl) && isLoopbackHost(new URL(publicUrl).hostname))) return env;
  return { ...env, ENCLAVE_DEMO_MODE: 'on' };
}

/** `50GB`, `1.5TiB` → bytes (decimal and binary units). */
function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT])(i?)B$/i.exec(s.trim());
  const exp = { K: 1, M: 2, G: 3, T: 4 }[(m?.[2] ?? 'K').toUpperCase() as 'K' | 'M' | 'G' | 'T'];
  return Math.round(Number(m?.[1] ?? 0) * ((m?.[3] ?? '') === '' ? 1000 : 1024) ** exp);
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) deepFreeze(v as object);
  return Object.freeze(o);
}
