-- Identity: TOTP codes cannot be replayed, and the embedded OpenID provider's state survives a
-- restart.

-- The last TOTP time step (RFC 6238: floor(unix time / 30)) accepted for the account. A code
-- whose step is not later is refused (RFC 6238 §5.2: a code is accepted once); advanced by one
-- conditional UPDATE, so of two concurrent submissions of one code exactly one wins.
ALTER TABLE identity_idp_accounts ADD COLUMN totp_last_step bigint;

-- The embedded provider's storage (oidc-provider's adapter contract): interactions, sessions,
-- grants, authorization codes, access tokens, and the login steps awaiting a second factor,
-- one row per model and id. Rows past expires_at are treated as absent and pruned.
-- DEMO DEFAULT: the embedded provider runs only when no external issuer is configured. Ids of
-- opaque tokens are the token values (as in oidc-provider's reference adapters); they live
-- minutes (codes 60 s, access tokens 10 min), codes also need the PKCE verifier and the client
-- secret, and session cookies are signed with keys kept outside the database.
CREATE TABLE identity_oidc_store (
  model text NOT NULL,
  id text NOT NULL,
  payload jsonb NOT NULL,
  -- tokens and codes of one grant, revoked together (e.g. when a code is used twice)
  grant_id text,
  -- device flow user code (DeviceCode)
  user_code text,
  -- the session's fixed uid (Session)
  uid text,
  expires_at timestamptz,
  -- codes and refresh tokens: when first used
  consumed_at timestamptz,
  PRIMARY KEY (model, id)
);
CREATE INDEX identity_oidc_store_grant ON identity_oidc_store (model, grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX identity_oidc_store_user_code ON identity_oidc_store (model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX identity_oidc_store_uid ON identity_oidc_store (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX identity_oidc_store_expires ON identity_oidc_store (expires_at) WHERE expires_at IS NOT NULL;
