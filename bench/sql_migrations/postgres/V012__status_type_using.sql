-- expect: changing-column-type
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE tickets ALTER COLUMN status TYPE integer USING status::integer;
