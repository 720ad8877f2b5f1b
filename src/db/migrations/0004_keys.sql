-- Data keys, wrapped by the platform's master key (envelope encryption). The master key never
-- enters this database; a wrapped key is useless without the keyring.
CREATE TABLE data_keys (
  id text PRIMARY KEY,
  scope text NOT NULL CHECK (scope IN ('dataset', 'project')),
  scope_id text NOT NULL,
  purpose text NOT NULL CHECK (purpose IN ('encryption', 'pseudonymisation')),
  master_key_id text,
  wrapped bytea,
  state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'destroyed')),
  created_at timestamptz NOT NULL DEFAULT now(),
  rewrapped_at timestamptz,
  destroyed_at timestamptz,
  -- A destroyed key keeps its row (ids stay referable in the audit log) but loses its material.
  CHECK ((state = 'active') = (wrapped IS NOT NULL AND master_key_id IS NOT NULL))
);
CREATE UNIQUE INDEX data_keys_one_active ON data_keys (scope, scope_id, purpose) WHERE state = 'active';
