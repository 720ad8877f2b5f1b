-- The demo logins switch (issue 15, item 4). The embedded provider's demo people (one per role,
-- passwords printed at first start) are convenient for a pilot and a liability once real people
-- use the platform: an admin turns their logins off at once; turning them back on widens access,
-- so it is only proposed and a second admin approves it (four eyes, like reviewing roles).
-- Every change is kept; the switch is the latest applied one (none: on, as before this table).
CREATE TABLE identity_demo_login_changes (
  id text PRIMARY KEY,
  enabled boolean NOT NULL,
  proposed_by text NOT NULL,
  proposed_at timestamptz NOT NULL DEFAULT now(),
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'applied', 'rejected')),
  decided_by text,
  decided_at timestamptz,
  CONSTRAINT identity_demo_login_changes_decided CHECK ((state = 'pending') = (decided_at IS NULL) AND (state = 'pending') = (decided_by IS NULL)),
  -- turning demo logins on takes a second admin
  CONSTRAINT identity_demo_login_changes_four_eyes CHECK (state <> 'applied' OR NOT enabled OR decided_by <> proposed_by)
);
-- One pending change at a time.
CREATE UNIQUE INDEX identity_demo_login_changes_one_pending ON identity_demo_login_changes ((true)) WHERE state = 'pending';
CREATE INDEX identity_demo_login_changes_decided ON identity_demo_login_changes (decided_at) WHERE state = 'applied';
