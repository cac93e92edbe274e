-- expect: safe
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE OR REPLACE VIEW active_users AS SELECT id, email FROM users WHERE deleted_at IS NULL;
