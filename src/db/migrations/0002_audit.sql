-- Audit log (src/audit): append-only events hashed into an RFC 9162 Merkle tree, signed
-- checkpoints over it, and signed archives of events past retention.
--
-- seq is the leaf index (0-based) and is gap-free: writers take a transaction-level advisory
-- lock, read max(seq) + 1 and insert in the same transaction, so a rolled-back append leaves no
-- gap; the insert trigger refuses any other seq. leaf_hash = SHA-256(0x00 || RFC 8785 JSON of
-- the event); leaf_sig = the log key's Ed25519 signature over the leaf hash and its index, which
-- lets verification name the exact row an owner edited even when he recomputed leaf_hash.
CREATE TABLE audit_events (
  seq bigint PRIMARY KEY CHECK (seq >= 0),
  time timestamptz NOT NULL,
  actor_kind text CHECK (actor_kind IN ('person', 'service')),
  actor_id text,
  action text,
  target text,
  request_id text,
  outcome text CHECK (outcome IN ('success', 'failure', 'denied')),
  details jsonb,
  leaf_hash bytea NOT NULL CHECK (length(leaf_hash) = 32),
  leaf_sig bytea NOT NULL CHECK (length(leaf_sig) = 64),
  -- Set when the event's content moved to a signed archive file: the row stays as a tombstone
  -- (seq, time, leaf_hash, leaf_sig) so that the tree remains computable from the database.
  archived_at timestamptz,
  CHECK (archived_at IS NOT NULL OR (actor_kind IS NOT NULL AND actor_id IS NOT NULL AND action IS NOT NULL
    AND target IS NOT NULL AND outcome IS NOT NULL AND details IS NOT NULL))
);

CREATE INDEX audit_events_time_idx ON audit_events (time);
-- A project's or a person's full access history is one indexed query away.
CREATE INDEX audit_events_target_idx ON audit_events (target, seq);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_kind, actor_id, seq);

-- Signed tree heads (C2SP tlog-checkpoint notes), one per tree size.
CREATE TABLE audit_checkpoints (
  tree_size bigint PRIMARY KEY CHECK (tree_size >= 0),
  root_hash bytea NOT NULL CHECK (length(root_hash) = 32),
  note text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Archive files written before their events were tombstoned: the signed note covers the file's
-- SHA-256 and its leaf range [from_seq, to_seq).
CREATE TABLE audit_archives (
  from_seq bigint PRIMARY KEY CHECK (from_seq >= 0),
  to_seq bigint NOT NULL CHECK (to_seq > from_seq),
  name text NOT NULL,
  sha256 bytea NOT NULL CHECK (length(sha256) = 32),
  note text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Inserts must extend the log by exactly one: seq = previous + 1, never a gap or a rewrite.
CREATE FUNCTION audit_events_before_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  expected bigint;
BEGIN
  SELECT coalesce(max(seq) + 1, 0) INTO expected FROM audit_events;
  IF NEW.seq IS DISTINCT FROM expected OR NEW.archived_at IS NOT NULL THEN
    RAISE EXCEPTION 'audit_events: append must use seq % (got %)', expected, NEW.seq USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END
$fn$;

-- UPDATE and DELETE are refused, with one exception: tombstoning an event that a recorded
-- archive covers, which clears the content columns and keeps seq, time, leaf_hash and leaf_sig.
CREATE FUNCTION audit_events_guard() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'UPDATE'
     AND OLD.archived_at IS NULL AND NEW.archived_at IS NOT NULL
     AND NEW.seq = OLD.seq AND NEW.time = OLD.time
     AND NEW.leaf_hash = OLD.leaf_hash AND NEW.leaf_sig = OLD.leaf_sig
     AND NEW.actor_kind IS NULL AND NEW.actor_id IS NULL AND NEW.action IS NULL AND NEW.target IS NULL
     AND NEW.request_id IS NULL AND NEW.outcome IS NULL AND NEW.details IS NULL
     AND EXISTS (SELECT 1 FROM audit_archives a WHERE OLD.seq >= a.from_seq AND OLD.seq < a.to_seq) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$fn$;

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$fn$;

CREATE TRIGGER audit_events_insert BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_before_insert();
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_guard();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_archives_no_change BEFORE UPDATE OR DELETE ON audit_archives FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_archives_no_truncate BEFORE TRUNCATE ON audit_archives FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- The one path that may touch stored events: tombstone the range of a recorded archive. It runs
-- with its owner's rights so that the writer role needs no UPDATE privilege; the trigger above
-- still checks every row against audit_archives.
CREATE FUNCTION audit_tombstone_archived(p_from bigint) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public AS $fn$
DECLARE
  r record;
  n bigint;
BEGIN
  SELECT from_seq, to_seq INTO r FROM audit_archives WHERE from_seq = p_from;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no audit archive starts at %', p_from USING ERRCODE = 'no_data_found';
  END IF;
  UPDATE audit_events SET actor_kind = NULL, actor_id = NULL, action = NULL, target = NULL, request_id = NULL,
    outcome = NULL, details = NULL, archived_at = now()
  WHERE seq >= r.from_seq AND seq < r.to_seq AND archived_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$fn$;

REVOKE EXECUTE ON FUNCTION audit_tombstone_archived(bigint) FROM PUBLIC;

-- PostgreSQL: the role the application writes the log with holds INSERT and SELECT only (and
-- the tombstone function). Roles are cluster-wide, so creation is idempotent and tolerates a
-- concurrent creator; PGlite (single user, no roles to speak of) skips this block.
DO $do$
BEGIN
  IF version() LIKE '%emscripten%' OR version() LIKE '%wasm%' THEN
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'enclave_audit_writer') THEN
    BEGIN
      CREATE ROLE enclave_audit_writer NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  GRANT SELECT, INSERT ON audit_events, audit_checkpoints, audit_archives TO enclave_audit_writer;
  GRANT EXECUTE ON FUNCTION audit_tombstone_archived(bigint) TO enclave_audit_writer;
END
$do$;
