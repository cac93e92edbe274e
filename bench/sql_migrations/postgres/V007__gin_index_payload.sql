-- expect: index-not-concurrent
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE INDEX IF NOT EXISTS events_payload_idx ON events USING gin (payload);
