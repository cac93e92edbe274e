-- expect: concurrently-in-transaction
BEGIN;
DROP INDEX CONCURRENTLY IF EXISTS orders_user_idx;
COMMIT;
