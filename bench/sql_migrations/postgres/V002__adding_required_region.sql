-- expect: adding-not-null-column
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE orders ADD COLUMN region_id bigint NOT NULL;
