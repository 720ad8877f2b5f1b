-- Identity: people (who), their platform roles, server-side sessions, API tokens, the OpenID
-- login flows in progress, and the accounts of the embedded identity provider (demo default).
-- Secrets are never stored in clear: session ids and API tokens as SHA-256, passwords as scrypt.

CREATE TABLE identity_people (
  id text PRIMARY KEY,
  -- the OpenID issuer and subject that authenticate this person; unique together
  issuer text NOT NULL,
  subject text NOT NULL,
  display_name text NOT NULL,
  email text,
  organisation text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz,
  UNIQUE (issuer, subject)
);

CREATE TABLE identity_roles (
  person_id text NOT NULL REFERENCES identity_people (id),
  role text NOT NULL CHECK (role IN ('applicant', 'ethics_reviewer', 'legal_reviewer', 'access_committee', 'output_checker', 'operator', 'auditor', 'admin')),
  granted_by text NOT NULL,
  granted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (person_id, role)
);

CREATE TABLE identity_sessions (
  -- SHA-256 of the cookie value: a copy of this table opens no session
  id_hash bytea PRIMARY KEY,
  person_id text NOT NULL REFERENCES identity_people (id),
  csrf_token text NOT NULL,
  acr text,
  amr text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX identity_sessions_person ON identity_sessions (person_id);

CREATE TABLE identity_api_tokens (
  id text PRIMARY KEY,
  token_hash bytea NOT NULL UNIQUE,
  person_id text NOT NULL REFERENCES identity_people (id),
  project_id text NOT NULL,
  label text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  last_used_at timestamptz
);
CREATE INDEX identity_api_tokens_person ON identity_api_tokens (person_id);

-- One row per login started: state, nonce and PKCE verifier kept server-side, keyed by the
-- SHA-256 of a random cookie value; consumed (deleted) by the callback.
CREATE TABLE identity_login_flows (
  id_hash bytea PRIMARY KEY,
  state text NOT NULL,
  nonce text NOT NULL,
  code_verifier text NOT NULL,
  return_to text NOT NULL DEFAULT '/',
  created_at timestamptz NOT NULL
);

-- Accounts of the embedded OpenID provider (used only when no external issuer is configured).
CREATE TABLE identity_idp_accounts (
  username text PRIMARY KEY,
  subject text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  -- base32 TOTP secret (RFC 6238); wrapped at rest by the embedded default is out of scope: demo only
  totp_secret text NOT NULL,
  display_name text NOT NULL,
  email text,
  organisation text NOT NULL DEFAULT '',
  failed_attempts integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  demo boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
