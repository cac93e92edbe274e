-- expect: safe
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_uq_idx ON users (email);
ALTER TABLE users ADD CONSTRAINT users_email_uq UNIQUE USING INDEX users_email_uq_idx;
