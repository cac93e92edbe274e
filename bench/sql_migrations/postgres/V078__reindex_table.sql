-- expect: blocking-maintenance
SET lock_timeout = '5s';
SET statement_timeout = '60s';
REINDEX TABLE orders;
