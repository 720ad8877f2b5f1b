-- Verified migration of datasets between stores (issue 6), and the one place readers resolve
-- where a dataset lives.

-- The active location of a dataset. No row: the store each version was ingested into
-- (dataset_versions.store_id). Cutover and rollback switch it in one audited transaction, and
-- every reader resolves it once per attach, so it never mixes two locations.
CREATE TABLE dataset_locations (
  dataset text PRIMARY KEY,
  store_id text NOT NULL,
  plan_id text,
  switched_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE migration_plans (
  id text PRIMARY KEY,
  from_store text NOT NULL,
  to_store text NOT NULL,
  datasets jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  -- inventory and pre-migration checks, as saved at planning time
  plan jsonb NOT NULL,
  -- one run at a time: a run holds the lease and renews it; a killed run's lease expires
  run_owner text,
  run_heartbeat timestamptz,
  -- the last verification (null after a run changed the target)
  verify jsonb,
  verified_at timestamptz,
  mirror jsonb
);

-- The journal: one row per file to copy. A file is `copied` only once its bytes are in the
-- target and their SHA-256, computed in the stream, matched the plan.
CREATE TABLE migration_files (
  plan_id text NOT NULL REFERENCES migration_plans (id),
  key text NOT NULL,
  dataset text NOT NULL,
  version integer NOT NULL,
  bytes bigint NOT NULL,
  sha256 text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'copied', 'failed')),
  copies integer NOT NULL DEFAULT 0,
  attempts integer NOT NULL DEFAULT 0,
  copied_at timestamptz,
  error text,
  PRIMARY KEY (plan_id, key)
);
CREATE INDEX migration_files_status ON migration_files (plan_id, status);

-- Signed migration reports: the JSON, its SHA-256 and a signed note over the readable summary.
CREATE TABLE migration_reports (
  id bigserial PRIMARY KEY,
  plan_id text NOT NULL REFERENCES migration_plans (id),
  kind text NOT NULL,
  report jsonb NOT NULL,
  sha256 text NOT NULL,
  note text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
