-- Audit log, second form (src/audit, docs/audit.md).
--
-- 1. Leaves are SHA-256(0x00 || RFC 8785 JSON of the exported event) exactly. Events written
--    before this migration hashed one more field, "v": 1; they keep their leaf (rewriting
--    history is what the log exists to prevent) and are marked here, so that the export shows
--    "v": 1 in their event object and their leaf is JCS(exported event) too. New events have
--    no such field. The column is added with a default, which marks every existing row
--    without an UPDATE (so the append-only triggers do not fire), then the default is dropped.
ALTER TABLE audit_events ADD COLUMN legacy_v smallint DEFAULT 1 CHECK (legacy_v IS NULL OR legacy_v = 1);
ALTER TABLE audit_events ALTER COLUMN legacy_v DROP DEFAULT;

CREATE OR REPLACE FUNCTION audit_events_before_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  expected bigint;
BEGIN
  SELECT coalesce(max(seq) + 1, 0) INTO expected FROM audit_events;
  IF NEW.seq IS DISTINCT FROM expected OR NEW.archived_at IS NOT NULL OR NEW.legacy_v IS NOT NULL THEN
    RAISE EXCEPTION 'audit_events: append must use seq % (got %)', expected, NEW.seq USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END
$fn$;

CREATE OR REPLACE FUNCTION audit_events_guard() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'UPDATE'
     AND OLD.archived_at IS NULL AND NEW.archived_at IS NOT NULL
     AND NEW.seq = OLD.seq AND NEW.time = OLD.time
     AND NEW.leaf_hash = OLD.leaf_hash AND NEW.leaf_sig = OLD.leaf_sig
     AND NEW.legacy_v IS NOT DISTINCT FROM OLD.legacy_v
     AND NEW.actor_kind IS NULL AND NEW.actor_id IS NULL AND NEW.action IS NULL AND NEW.target IS NULL
     AND NEW.request_id IS NULL AND NEW.outcome IS NULL AND NEW.details IS NULL
     AND EXISTS (SELECT 1 FROM audit_archives a WHERE OLD.seq >= a.from_seq AND OLD.seq < a.to_seq) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$fn$;

-- 2. The stored Merkle tree: the hash of every complete subtree of height `level` ≥ 1 (the
--    node covering leaves [idx·2^level, (idx+1)·2^level)), written by the append in the same
--    transaction as its event. Level 0 is audit_events.leaf_hash. A complete node never
--    changes as the tree grows, so the table is append-only like the events; inclusion and
--    consistency proofs read O(log n) of these rows, and the C2SP tlog-tiles hash tile
--    <L>/<N> is the range idx ∈ [256·N, 256·N + W) of level 8·L.
CREATE TABLE audit_tree (
  level smallint NOT NULL CHECK (level BETWEEN 1 AND 63),
  idx bigint NOT NULL CHECK (idx >= 0),
  hash bytea NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (level, idx)
);
CREATE TRIGGER audit_tree_no_change BEFORE UPDATE OR DELETE ON audit_tree FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_tree_no_truncate BEFORE TRUNCATE ON audit_tree FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Existing logs: build every complete node from the stored leaves, one level at a time
-- (RFC 9162 interior node = SHA-256(0x01 || left || right)).
DO $do$
DECLARE
  lvl int := 1;
  n bigint;
BEGIN
  INSERT INTO audit_tree (level, idx, hash)
    SELECT 1, l.seq / 2, sha256('\x01'::bytea || l.leaf_hash || r.leaf_hash)
      FROM audit_events l JOIN audit_events r ON r.seq = l.seq + 1
     WHERE l.seq % 2 = 0;
  GET DIAGNOSTICS n = ROW_COUNT;
  WHILE n > 1 LOOP
    lvl := lvl + 1;
    INSERT INTO audit_tree (level, idx, hash)
      SELECT lvl, l.idx / 2, sha256('\x01'::bytea || l.hash || r.hash)
        FROM audit_tree l JOIN audit_tree r ON r.level = l.level AND r.idx = l.idx + 1
       WHERE l.level = lvl - 1 AND l.idx % 2 = 0;
    GET DIAGNOSTICS n = ROW_COUNT;
  END LOOP;
END
$do$;

-- 3. Cosignatures returned by witnesses (C2SP tlog-witness / tlog-cosignature) for a
--    checkpoint: kept here for publication beside the note. They are copies: the witness keeps
--    its own state where the database owner cannot rewrite it, and `audit verify` asks it.
CREATE TABLE audit_cosignatures (
  tree_size bigint NOT NULL CHECK (tree_size >= 0),
  witness text NOT NULL,
  signature_line text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tree_size, witness)
);
CREATE TRIGGER audit_cosignatures_no_change BEFORE UPDATE OR DELETE ON audit_cosignatures FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_cosignatures_no_truncate BEFORE TRUNCATE ON audit_cosignatures FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

DO $do$
BEGIN
  IF version() LIKE '%emscripten%' OR version() LIKE '%wasm%' THEN
    RETURN;
  END IF;
  GRANT SELECT, INSERT ON audit_tree, audit_cosignatures TO enclave_audit_writer;
END
$do$;
