-- expect: dropping-column
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE users DROP COLUMN legacy_flag;
