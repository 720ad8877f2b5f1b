import type { AirlockService } from '../airlock/index.ts';
import type { Actor, AuditLog } from '../audit/index.ts';
import type { CatalogService } from '../catalog/index.ts';
import type { Config } from '../config.ts';
import type { GovernanceService } from '../governance/index.ts';
import type { IdentityService } from '../identity/index.ts';
import type { IngestService } from '../ingest/index.ts';
import type { KeyService } from '../keys/index.ts';
import type { MigrationService } from '../migrate/index.ts';
import type { EngineChoice, WorkspaceService } from '../workspace/index.ts';

/** The services the CLI drives: the same ones the HTTP API uses. Built by the composition root. */
export interface CliServices {
  readonly config: Config;
  readonly audit: AuditLog;
  readonly keys: KeyService;
  readonly catalog: CatalogService;
  readonly ingest: IngestService;
  /** Verified migration between stores (absent in CLI tests that do not need it). */
  readonly migration?: MigrationService;
  /** People, sessions, API tokens (absent in CLI tests that do not need it). */
  readonly identity?: IdentityService;
  /** Projects, reviews, permits (absent in CLI tests that do not need it). */
  readonly governance?: GovernanceService;
  /** Projects' workspaces, for enclave sql (absent in CLI tests that do not need it). */
  readonly workspace?: WorkspaceService;
  /** The engine each project is on, for enclave projects engine (absent in CLI tests that do not need it). */
  readonly engineChoice?: EngineChoice;
  /** The airlock, for enclave airlock (absent in CLI tests that do not need it). */
  readonly airlock?: AirlockService;
  /** Who acts from this terminal (the local operator until the CLI logs in with an API token). */
  readonly actor: Actor;
  close(): Promise<void>;
}

export type OpenServices = () => Promise<CliServices>;

export interface Output {
  write(s: string): void;
}
