-- expect: safe
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE TABLE IF NOT EXISTS feature_flags_history (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  flag text NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now()
);
