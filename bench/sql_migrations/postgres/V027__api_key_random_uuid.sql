-- expect: volatile-default
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE users ADD COLUMN api_key uuid DEFAULT gen_random_uuid();
