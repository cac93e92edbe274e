-- expect: safe
SET lock_timeout = '5s';
SET statement_timeout = '60s';
DROP INDEX CONCURRENTLY IF EXISTS orders_created_idx;
