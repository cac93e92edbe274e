-- expect: volatile-default
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE events ADD COLUMN seen_at timestamptz DEFAULT clock_timestamp();
