-- Project extracts (src/workspace/extract, docs/workspace.md "The extract"): one row per
-- materialisation (generation) of a project's permit, and one checkpoint row per table built.
-- A generation is `building` until every table is checkpointed, then `ready`; the previous ready
-- generation becomes `destroyed` in the same transaction and its files are deleted after.

CREATE TABLE workspace_extracts (
  project_id text NOT NULL,
  generation integer NOT NULL CHECK (generation > 0),
  permit_version integer NOT NULL,
  permit_sha256 text NOT NULL,
  state text NOT NULL CHECK (state IN ('building', 'ready', 'failed', 'destroyed')),
  percent smallint NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 100),
  -- Ids of the project keys (never material): encryption of the files, re-keying of pseudonyms.
  key_id text NOT NULL,
  rekey_key_id text NOT NULL,
  -- The neutral plan and the dataset versions it is built from, pinned so a resumed build reads the same.
  plan jsonb NOT NULL,
  dataset_versions jsonb NOT NULL,
  -- Which process builds it: a build whose process is gone is resumed.
  host text NOT NULL,
  pid integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  error text,
  PRIMARY KEY (project_id, generation)
);
CREATE UNIQUE INDEX workspace_extracts_one_building ON workspace_extracts (project_id) WHERE state = 'building';
CREATE UNIQUE INDEX workspace_extracts_one_ready ON workspace_extracts (project_id) WHERE state = 'ready';

CREATE TABLE workspace_extract_tables (
  project_id text NOT NULL,
  generation integer NOT NULL,
  name text NOT NULL,
  position integer NOT NULL,
  dataset text NOT NULL,
  source_table text NOT NULL,
  columns jsonb NOT NULL,
  rows bigint NOT NULL CHECK (rows >= 0),
  files jsonb NOT NULL,
  built_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, generation, name),
  FOREIGN KEY (project_id, generation) REFERENCES workspace_extracts (project_id, generation) ON DELETE CASCADE
);
