-- expect: index-not-concurrent
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE INDEX orders_created_idx ON orders (created_at);
