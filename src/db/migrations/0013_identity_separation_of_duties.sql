-- Separation of duties (issue 11). Nobody changes their own roles; a reviewing role (access
-- committee, ethics, legal, output checker) is granted or removed only by two admins: one
-- proposes, another approves (four eyes, like permits). Every role change made by a person is
-- kept here, which also tells governance who changed a project's reviewers during its review.
CREATE TABLE identity_role_changes (
  id text PRIMARY KEY,
  person_id text NOT NULL REFERENCES identity_people (id),
  role text NOT NULL CHECK (role IN ('applicant', 'ethics_reviewer', 'legal_reviewer', 'access_committee', 'output_checker', 'operator', 'auditor', 'admin')),
  change text NOT NULL CHECK (change IN ('grant', 'revoke')),
  proposed_by text NOT NULL,
  proposed_at timestamptz NOT NULL DEFAULT now(),
  -- applied: in force (at once for other roles, at the second admin's approval for reviewing roles)
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'applied', 'rejected')),
  decided_by text,
  decided_at timestamptz,
  CONSTRAINT identity_role_changes_not_own CHECK (proposed_by <> person_id AND (decided_by IS NULL OR decided_by <> person_id)),
  CONSTRAINT identity_role_changes_decided CHECK ((state = 'pending') = (decided_at IS NULL) AND (state = 'pending') = (decided_by IS NULL)),
  CONSTRAINT identity_role_changes_four_eyes CHECK (
    state <> 'applied' OR role NOT IN ('ethics_reviewer', 'legal_reviewer', 'access_committee', 'output_checker') OR decided_by <> proposed_by
  )
);
-- One pending change per person and role.
CREATE UNIQUE INDEX identity_role_changes_one_pending ON identity_role_changes (person_id, role) WHERE state = 'pending';
CREATE INDEX identity_role_changes_proposed_by ON identity_role_changes (proposed_by, decided_at);
CREATE INDEX identity_role_changes_decided_by ON identity_role_changes (decided_by, decided_at);

-- When a project was first submitted: from then on it is under review, and whoever changes its
-- reviewers (the reviewing roles) may not vote on it. Projects already past draft count from
-- their creation (the earliest their review can have started).
ALTER TABLE governance_projects ADD COLUMN review_started_at timestamptz;
UPDATE governance_projects SET review_started_at = created_at WHERE status <> 'draft';
