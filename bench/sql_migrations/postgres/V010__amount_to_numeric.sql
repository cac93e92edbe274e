-- expect: changing-column-type
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE orders ALTER COLUMN amount TYPE numeric(12, 2);
