-- expect: safe
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_created_idx ON orders (created_at);
