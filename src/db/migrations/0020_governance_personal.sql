-- A person's own governance settings and unsent work (issue 15): whether status changes are
-- also e-mailed to them (in-app notifications always are), and drafts of applications saved on
-- the server as the wizard goes, so that a reload or an expired session loses nothing. Written
-- only by GovernanceService, in the audited transaction of each change.

CREATE TABLE governance_notification_settings (
  person_id text PRIMARY KEY REFERENCES identity_people (id),
  email boolean NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE governance_drafts (
  id text PRIMARY KEY,
  person_id text NOT NULL REFERENCES identity_people (id),
  -- the wizard's state as the applicant left it: may be incomplete, validated only at filing
  content jsonb NOT NULL,
  step integer NOT NULL DEFAULT 0 CHECK (step >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX governance_drafts_person ON governance_drafts (person_id, updated_at DESC);
