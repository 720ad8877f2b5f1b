-- Why a project's last move to another engine failed (issue 17 item 4, docs/workspace.md
-- "Engines"): when the rebuild on the new engine fails, the engine-choice service puts the project
-- back and records here, in the same audited transaction as `project.engine.revert`, the engine it
-- was moving to, when, and the reason; a later successful move clears it. Kept beside the choice
-- so that the operators' list of every project's engine is one query, without reading the audit
-- log (whose reads are themselves audited, and whose old events go to archives).
ALTER TABLE governance_projects
  ADD COLUMN engine_failed_to text CHECK (engine_failed_to IS NULL OR engine_failed_to IN ('duckdb', 'trino')),
  ADD COLUMN engine_failed_at timestamptz,
  ADD COLUMN engine_failed_reason text,
  ADD CONSTRAINT governance_projects_engine_failure_whole
    CHECK ((engine_failed_to IS NULL) = (engine_failed_at IS NULL) AND (engine_failed_to IS NULL) = (engine_failed_reason IS NULL));
