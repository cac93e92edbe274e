-- expect: adding-primary-key
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE legacy ADD CONSTRAINT legacy_pk PRIMARY KEY (id);
