-- Core tables shared by every domain. Later migrations add one domain each.

-- Settings the platform keeps about itself (e.g. installation id, first-start time).
CREATE TABLE platform_settings (
  key text PRIMARY KEY,
  value jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
