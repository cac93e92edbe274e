-- expect: safe
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE TABLE IF NOT EXISTS audit_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  actor text NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_actor_idx ON audit_events (actor);
