-- Amendments of an active permit: a new application version reviewed like the first (same
-- steps, four eyes, two committee members) while the project stays active and its permit in
-- force; approval activates a new permit version that supersedes the previous one. The
-- amendment workflow table lives in src/governance/workflow.ts (AMENDMENT_TRANSITIONS).

CREATE TABLE governance_amendments (
  id text PRIMARY KEY,
  project_id text NOT NULL REFERENCES governance_projects (id),
  status text NOT NULL CHECK (status IN ('submitted', 'ethics_review', 'legal_review', 'committee_review', 'changes_requested', 'approved', 'rejected', 'withdrawn', 'lapsed')),
  -- the application version under review (a new one at each revision)
  application_version integer NOT NULL,
  -- what was in force when the amendment was filed
  base_application_version integer NOT NULL,
  base_permit_version integer NOT NULL,
  created_by text NOT NULL REFERENCES identity_people (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  decided_at timestamptz
);
-- at most one amendment under way per project
CREATE UNIQUE INDEX governance_amendments_one_open ON governance_amendments (project_id)
  WHERE status IN ('submitted', 'ethics_review', 'legal_review', 'committee_review', 'changes_requested');

-- review acts and permit proposals made for an amendment
ALTER TABLE governance_reviews ADD COLUMN amendment_id text REFERENCES governance_amendments (id);
ALTER TABLE governance_permits ADD COLUMN amendment_id text REFERENCES governance_amendments (id);

-- a proposal whose amendment was returned, refused or withdrawn never comes into force
ALTER TABLE governance_permits DROP CONSTRAINT governance_permits_state_check;
ALTER TABLE governance_permits ADD CONSTRAINT governance_permits_state_check CHECK (state IN ('proposed', 'active', 'superseded', 'ended', 'lapsed'));
