-- Audit checkpoints keep the right edge of their tree (the compact range: one 32-byte hash per
-- perfect subtree, largest first, as many as the tree size has bits set), so the next checkpoint
-- reads only the events appended since instead of every leaf. The edge is derived data: its root
-- is checked against the signed root before use, and verification recomputes everything anyway.
ALTER TABLE audit_checkpoints ADD COLUMN edge bytea CHECK (edge IS NULL OR length(edge) % 32 = 0);
