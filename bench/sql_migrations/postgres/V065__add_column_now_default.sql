-- expect: safe
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS imported_at timestamptz DEFAULT now();
