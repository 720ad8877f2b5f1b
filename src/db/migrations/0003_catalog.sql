-- Catalog: dataset → table → column definitions imported from Frictionless Table Schema, with a
-- sensitivity per column, and the nomenclatures (code lists) columns point to.
-- Search uses a `search_text` column (lower-case, accents removed, computed by the importer)
-- matched with LIKE, so the same SQL runs on PGlite and PostgreSQL without extensions.

CREATE TABLE catalog_datasets (
  name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  title text NOT NULL,
  description text NOT NULL DEFAULT '',
  -- where the definitions came from: 'builtin' or the directory the operator named
  source text NOT NULL,
  -- SHA-256 over the normalised definitions: tells a re-import whether anything changed
  content_sha256 text NOT NULL,
  imported_at timestamptz NOT NULL DEFAULT now(),
  search_text text NOT NULL
);

CREATE TABLE catalog_tables (
  dataset text NOT NULL REFERENCES catalog_datasets (name) ON DELETE CASCADE,
  name text NOT NULL,
  title text NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '',
  product text NOT NULL DEFAULT '',
  primary_key text[] NOT NULL DEFAULT '{}',
  -- [{ "fields": [..], "reference": { "resource": "T", "fields": [..] } }], `fields` always arrays
  foreign_keys jsonb NOT NULL DEFAULT '[]',
  -- optional table-level `enclave` object of the schema file (partition rule, ...)
  enclave jsonb,
  -- file the definition was read from, relative to the imported directory
  source_file text NOT NULL,
  search_text text NOT NULL,
  PRIMARY KEY (dataset, name)
);

CREATE TABLE catalog_columns (
  dataset text NOT NULL,
  table_name text NOT NULL,
  position integer NOT NULL CHECK (position >= 1),
  name text NOT NULL,
  type text NOT NULL,
  description text NOT NULL DEFAULT '',
  -- name of a catalog_nomenclatures entry; NULL when the schema says '-' (none). Not a foreign
  -- key: a schema may name a nomenclature whose list is not (yet) imported.
  nomenclature text,
  length text,
  format text,
  -- { required?, unique?, enum?, pattern?, minimum?, maximum?, minLength?, maxLength? }
  constraints jsonb NOT NULL DEFAULT '{}',
  sensitivity text NOT NULL CHECK (sensitivity IN ('direct_identifier', 'pseudonym', 'potential_identifier', 'sensitive', 'other')),
  sensitivity_reason text NOT NULL,
  -- which entry of the mapping file decided: 'column:X', 'table:T', 'pattern:<id>' or 'default'
  sensitivity_rule text NOT NULL,
  search_text text NOT NULL,
  PRIMARY KEY (dataset, table_name, name),
  UNIQUE (dataset, table_name, position),
  FOREIGN KEY (dataset, table_name) REFERENCES catalog_tables (dataset, name) ON DELETE CASCADE
);

CREATE INDEX catalog_columns_nomenclature ON catalog_columns (nomenclature) WHERE nomenclature IS NOT NULL;

-- Nomenclatures are shared by name across datasets (columns link to them by name); `dataset`
-- records which import last provided the list.
CREATE TABLE catalog_nomenclatures (
  name text PRIMARY KEY,
  dataset text REFERENCES catalog_datasets (name) ON DELETE SET NULL,
  title text NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '',
  -- producer folder the list came from (e.g. ORAVAL, ATIH), '' when flat
  source text NOT NULL DEFAULT '',
  code_field text NOT NULL,
  label_field text,
  -- Table Schema fields of the list, as declared
  fields jsonb NOT NULL DEFAULT '[]',
  code_count integer NOT NULL DEFAULT 0,
  -- false when only the JSON schema was present (the CSV of codes was absent)
  codes_available boolean NOT NULL,
  source_file text NOT NULL,
  search_text text NOT NULL
);

CREATE TABLE catalog_nomenclature_codes (
  nomenclature text NOT NULL REFERENCES catalog_nomenclatures (name) ON DELETE CASCADE,
  code text NOT NULL,
  label text,
  PRIMARY KEY (nomenclature, code)
);
