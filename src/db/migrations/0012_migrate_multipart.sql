-- Resumable multipart uploads for migration runs (issue 6): a run killed in the middle of a
-- large file resumes its upload (ListParts) and sends only the parts that are missing.

-- The multipart upload in progress for a file of a plan (at most one). Removed when the upload
-- completes or is aborted (the source changed: its parts are stale).
CREATE TABLE migration_uploads (
  plan_id text NOT NULL,
  key text NOT NULL,
  upload_id text NOT NULL,
  part_size bigint NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (plan_id, key),
  FOREIGN KEY (plan_id, key) REFERENCES migration_files (plan_id, key)
);

-- Parts the store acknowledged, with the SHA-256 of their bytes: on resume a part is skipped
-- only if the source still has the same bytes there and the store still lists the same ETag.
-- The whole file's SHA-256 is still computed over the full source stream, skipped parts included.
CREATE TABLE migration_upload_parts (
  plan_id text NOT NULL,
  key text NOT NULL,
  part_number integer NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
  etag text NOT NULL,
  bytes bigint NOT NULL,
  sha256 text NOT NULL,
  PRIMARY KEY (plan_id, key, part_number),
  FOREIGN KEY (plan_id, key) REFERENCES migration_uploads (plan_id, key) ON DELETE CASCADE
);
