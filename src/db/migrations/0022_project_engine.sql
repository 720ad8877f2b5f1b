-- Choice of workspace engine per project (issue 17 item 4, docs/workspace.md "Engines"): the
-- operator may put a project on another engine than the deployment's default (ENCLAVE_ENGINE),
-- among those the deployment has configured. Written only by the engine-choice service
-- (src/workspace/engine-choice.ts), in the audited transaction of each change.

-- The engine the project's extract is (to be) built on; NULL: the deployment's default.
ALTER TABLE governance_projects ADD COLUMN engine text CHECK (engine IS NULL OR engine IN ('duckdb', 'trino'));

-- The engine each generation of an extract was built on, recorded when its build starts: the
-- workspace opens a project on the engine of its ready generation, so a project moving to another
-- engine keeps working on the old one until the new generation is complete. NULL: built before
-- this column existed, on the deployment's default engine.
ALTER TABLE workspace_extracts ADD COLUMN engine text CHECK (engine IS NULL OR engine IN ('duckdb', 'trino'));
