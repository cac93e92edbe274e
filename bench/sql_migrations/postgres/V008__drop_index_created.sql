-- expect: drop-index-not-concurrent
SET lock_timeout = '5s';
SET statement_timeout = '60s';
DROP INDEX orders_created_idx;
