-- What a closed project still owes an engine that keeps copies of its own (Trino: the project's
-- workspace schema and, with the SSE-C store, its catalog; src/workspace/engine-cleanup.ts).
-- Recorded when the project closes, before the drop is tried, so that an engine unreachable at
-- that moment (or a process stopped half-way) leaves a debt that is paid later: at server start,
-- periodically, and by `enclave`'s operator API. The project's keys are destroyed at closure
-- (the copy is unreadable); this makes it gone. Written only by the engine-cleanup service, each
-- change in the transaction of its audit event (`trino.cleanup.owed`, `trino.cleanup`).

CREATE TABLE engine_cleanups (
  project_id text NOT NULL,
  engine text NOT NULL CHECK (engine IN ('duckdb', 'trino')),
  -- `owed` until the engine confirmed the drop; `done` rows stay as the record that it was paid.
  state text NOT NULL CHECK (state IN ('owed', 'done')),
  owed_since timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_attempt_at timestamptz,
  -- The last failure's first line (never data: the engine's error name or unreachability).
  last_error text,
  done_at timestamptz,
  PRIMARY KEY (project_id, engine),
  CHECK ((state = 'done') = (done_at IS NOT NULL))
);
CREATE INDEX engine_cleanups_owed ON engine_cleanups (owed_since) WHERE state = 'owed';
