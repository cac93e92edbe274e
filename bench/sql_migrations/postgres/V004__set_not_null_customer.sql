-- expect: setting-not-null
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE orders
  ALTER COLUMN customer_id SET NOT NULL;
