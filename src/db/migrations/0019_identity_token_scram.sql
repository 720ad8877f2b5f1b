-- SCRAM-SHA-256 verifiers of API tokens (issue 16): the PostgreSQL-protocol endpoint
-- authenticates a member with their project token as the password, by SCRAM, which needs the
-- token's StoredKey and ServerKey (RFC 5802) rather than the token. The salt is derived from the
-- project id (src/identity/scram.ts) so that the server can name it before it knows which of the
-- project's tokens the client holds; tokens are random 256-bit secrets, so a shared salt gives
-- an attacker nothing. Tokens created before this migration have no verifier: they still work
-- over HTTP, and a new token is needed for the PostgreSQL endpoint.
ALTER TABLE identity_api_tokens ADD COLUMN scram_stored_key bytea;
ALTER TABLE identity_api_tokens ADD COLUMN scram_server_key bytea;
