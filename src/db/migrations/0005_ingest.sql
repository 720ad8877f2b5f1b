-- Deliveries ingested into dataset versions. A version exists only once its row is committed
-- here: files in the store without a committed row are leftovers of a failed run.

CREATE TABLE ingest_runs (
  id text PRIMARY KEY,
  dataset text NOT NULL,
  delivery_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'committed', 'failed', 'abandoned')),
  staging_key text NOT NULL,
  -- Which process runs it: a rerun on the same host replaces a run whose process is gone.
  host text NOT NULL,
  pid integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  version integer,
  error_code text,
  error_message text,
  report jsonb
);
CREATE INDEX ingest_runs_dataset ON ingest_runs (dataset, started_at);

CREATE TABLE dataset_versions (
  dataset text NOT NULL,
  version integer NOT NULL CHECK (version > 0),
  delivery_id text NOT NULL,
  run_id text NOT NULL REFERENCES ingest_runs (id),
  store_id text NOT NULL,
  prefix text NOT NULL,
  merkle_root text NOT NULL,
  files integer NOT NULL,
  bytes bigint NOT NULL,
  rows_accepted bigint NOT NULL,
  rows_quarantined bigint NOT NULL,
  manifest jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dataset, version),
  UNIQUE (dataset, delivery_id)
);
