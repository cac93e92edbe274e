-- expect: safe
SET lock_timeout = '5s';
SET statement_timeout = '60s';
COMMENT ON COLUMN users.email IS 'primary contact address';
