-- expect: adding-not-null-column
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE accounts ADD COLUMN plan text NOT NULL;
