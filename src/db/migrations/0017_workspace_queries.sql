-- The workspace's query records (issue 12): each statement a member runs in a project's
-- workspace, its outcome and the SHA-256 of its result (rows stay in the engine, never here),
-- and the project's shared saved queries. Every insert and update is made in the audited
-- transaction of its audit event (src/workspace/service.ts).

CREATE TABLE workspace_queries (
  id text PRIMARY KEY,
  project_id text NOT NULL,
  person_id text NOT NULL,
  sql text NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'refused', 'cancelled')),
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  elapsed_ms integer,
  columns jsonb,
  row_count bigint,
  truncated boolean,
  sha256 text,
  saved jsonb,
  error jsonb
);
-- a member's history, newest first
CREATE INDEX workspace_queries_history ON workspace_queries (project_id, person_id, started_at DESC);

CREATE TABLE workspace_saved_queries (
  id text PRIMARY KEY,
  project_id text NOT NULL,
  person_id text NOT NULL,
  name text NOT NULL,
  sql text NOT NULL,
  description text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, name)
);
