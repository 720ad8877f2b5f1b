-- Governance: projects, their versioned applications, members, the review workflow, permits
-- (versioned JSON documents), and in-app notifications. Status changes are written only by
-- GovernanceService inside audited transactions; the transition table lives in workflow.ts.

CREATE TABLE governance_projects (
  id text PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('draft', 'submitted', 'ethics_review', 'legal_review', 'committee_review', 'changes_requested', 'approved', 'active', 'suspended', 'expired', 'closed', 'revoked', 'rejected', 'withdrawn')),
  title text NOT NULL,
  organisation text NOT NULL,
  created_by text NOT NULL REFERENCES identity_people (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  current_version integer NOT NULL DEFAULT 1
);

CREATE TABLE governance_applications (
  project_id text NOT NULL REFERENCES governance_projects (id),
  version integer NOT NULL CHECK (version >= 1),
  content jsonb NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, version)
);

CREATE TABLE governance_members (
  project_id text NOT NULL REFERENCES governance_projects (id),
  person_id text NOT NULL REFERENCES identity_people (id),
  role text NOT NULL CHECK (role IN ('principal_investigator', 'member')),
  added_by text NOT NULL,
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, person_id)
);

-- Every review act: completeness check, ethics opinion, legal review, committee vote.
CREATE TABLE governance_reviews (
  id text PRIMARY KEY,
  project_id text NOT NULL REFERENCES governance_projects (id),
  application_version integer NOT NULL,
  step text NOT NULL,
  reviewer_id text NOT NULL REFERENCES identity_people (id),
  decision text NOT NULL CHECK (decision IN ('approve', 'return', 'reject')),
  comment text NOT NULL DEFAULT '',
  reference text,
  -- permit version the vote is about (committee votes only)
  permit_version integer,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX governance_reviews_project ON governance_reviews (project_id);

CREATE TABLE governance_permits (
  project_id text NOT NULL REFERENCES governance_projects (id),
  version integer NOT NULL CHECK (version >= 1),
  document jsonb NOT NULL,
  sha256 text NOT NULL,
  state text NOT NULL CHECK (state IN ('proposed', 'active', 'superseded', 'ended')),
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  activated_at timestamptz,
  ended_at timestamptz,
  PRIMARY KEY (project_id, version)
);
CREATE UNIQUE INDEX governance_permits_one_active ON governance_permits (project_id) WHERE state = 'active';

CREATE TABLE governance_notifications (
  id text PRIMARY KEY,
  person_id text NOT NULL REFERENCES identity_people (id),
  project_id text,
  kind text NOT NULL,
  message text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  read_at timestamptz
);
CREATE INDEX governance_notifications_person ON governance_notifications (person_id, created_at);
