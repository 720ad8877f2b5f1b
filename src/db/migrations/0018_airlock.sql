-- The airlock (issue 13): release requests, their outputs, the checkers' votes, releases and the
-- release ledger. Every insert and update is made in the audited transaction of its audit event
-- (src/airlock/service.ts). docs/airlock.md describes the workflow.

-- A release request: context written by a project member, a status of the workflow table
-- (src/airlock/workflow.ts), the automatic disclosure report computed at submission.
CREATE TABLE airlock_requests (
  id text PRIMARY KEY,
  project_id text NOT NULL,
  -- bumped at every change of the request or one of its outputs (airlock_request_versions keeps
  -- each); 0 only inside the transaction that creates it, which writes version 1 before committing
  version integer NOT NULL CHECK (version >= 0),
  status text NOT NULL CHECK (status IN ('draft', 'submitted', 'in_review', 'returned', 'released', 'rejected', 'withdrawn')),
  title text NOT NULL,
  description text NOT NULL,
  population text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- when the current review round began (last submission): whoever changed the checkers' roles since takes no vote
  submitted_at timestamptz,
  decided_at timestamptz,
  -- the disclosure report of the outputs as submitted (src/airlock/rules), and its SHA-256 (RFC 8785 JSON)
  report jsonb,
  report_sha256 text,
  -- checkers required by the permit (at least two)
  checkers_required integer NOT NULL DEFAULT 2 CHECK (checkers_required >= 2)
);
CREATE INDEX airlock_requests_project ON airlock_requests (project_id, created_at DESC);
CREATE INDEX airlock_requests_status ON airlock_requests (status, submitted_at);

-- Every version of a request (its context and the versions of its outputs), as it was changed.
CREATE TABLE airlock_request_versions (
  request_id text NOT NULL REFERENCES airlock_requests (id),
  version integer NOT NULL,
  status text NOT NULL,
  content jsonb NOT NULL,
  changed_by text NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (request_id, version)
);

-- One output of a request: a saved table of the workspace snapshotted when it was added or
-- changed. The rows are encrypted with the project's data key (AES-256-GCM): until two checkers
-- approve them they may be disclosive, so they get the scratch's protection, and the project's
-- crypto-shredding at closure makes unreleased snapshots unreadable with the rest.
CREATE TABLE airlock_outputs (
  id text PRIMARY KEY,
  request_id text NOT NULL REFERENCES airlock_requests (id),
  name text NOT NULL,
  -- bumped at every change: votes are on one version, a change resets them
  version integer NOT NULL CHECK (version > 0),
  removed boolean NOT NULL DEFAULT false,
  source_table text NOT NULL,
  kind text NOT NULL,
  -- [{name, type, role, description}]
  columns jsonb NOT NULL,
  description text NOT NULL,
  -- the underlying counts of each magnitude or rate, in the member's words
  underlying_counts text NOT NULL DEFAULT '',
  row_count integer NOT NULL CHECK (row_count >= 0),
  -- SHA-256 of the rows as released (the CSV text, src/airlock/csv.ts)
  sha256 text NOT NULL,
  -- lineage: the statement that saved the table, the extract and dataset versions it read
  query_id text,
  query_sha256 text,
  extract_generation integer,
  permit_version integer,
  dataset_versions jsonb NOT NULL,
  -- the extract's pseudonym columns (re-keyed), which the rules block by name in this output
  pseudonym_columns jsonb NOT NULL DEFAULT '[]',
  key_id text NOT NULL,
  snapshot bytea NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX airlock_outputs_name ON airlock_outputs (request_id, name) WHERE NOT removed;

-- A checker's vote on one version of one output. `active` goes false when the output changes
-- (its reviews reset) or, for a return, when the member resubmits.
CREATE TABLE airlock_votes (
  id text PRIMARY KEY,
  request_id text NOT NULL REFERENCES airlock_requests (id),
  output_id text NOT NULL REFERENCES airlock_outputs (id),
  output_version integer NOT NULL,
  review_id text NOT NULL,
  checker_id text NOT NULL,
  decision text NOT NULL CHECK (decision IN ('approve', 'reject', 'return')),
  reasons text[] NOT NULL,
  comment text NOT NULL DEFAULT '',
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- one active vote per checker and output: a second vote by the same checker is refused
CREATE UNIQUE INDEX airlock_votes_one_active ON airlock_votes (output_id, checker_id) WHERE active;
CREATE INDEX airlock_votes_request ON airlock_votes (request_id, created_at);

-- A release: the approved outputs, stored under their SHA-256, and the signed bundle. Never changed.
CREATE TABLE airlock_releases (
  id text PRIMARY KEY,
  request_id text NOT NULL UNIQUE REFERENCES airlock_requests (id),
  project_id text NOT NULL,
  released_at timestamptz NOT NULL,
  bundle_sha256 text NOT NULL,
  bundle_key text NOT NULL,
  bundle_bytes bigint NOT NULL,
  signing_key_id text NOT NULL,
  -- [{outputId, name, sha256, key, bytes}]
  outputs jsonb NOT NULL
);

-- The release ledger: every released count cell with its lineage, checked against each new
-- output of the same project and of other projects on the same base (differencing).
CREATE TABLE airlock_ledger (
  release_id text NOT NULL REFERENCES airlock_releases (id),
  project_id text NOT NULL,
  output_name text NOT NULL,
  population_hash text NOT NULL,
  dataset_versions jsonb NOT NULL,
  dimensions jsonb NOT NULL,
  measure text NOT NULL,
  count bigint NOT NULL,
  query_sha256 text,
  extract_generation integer,
  released_at timestamptz NOT NULL
);
CREATE INDEX airlock_ledger_release ON airlock_ledger (release_id);

CREATE FUNCTION airlock_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER airlock_releases_no_change BEFORE UPDATE OR DELETE ON airlock_releases FOR EACH ROW EXECUTE FUNCTION airlock_refuse_change();
CREATE TRIGGER airlock_ledger_no_change BEFORE UPDATE OR DELETE ON airlock_ledger FOR EACH ROW EXECUTE FUNCTION airlock_refuse_change();
CREATE TRIGGER airlock_request_versions_no_change BEFORE UPDATE OR DELETE ON airlock_request_versions FOR EACH ROW EXECUTE FUNCTION airlock_refuse_change();
