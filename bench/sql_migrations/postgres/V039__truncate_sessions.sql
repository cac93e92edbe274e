-- expect: truncate-table
SET lock_timeout = '5s';
SET statement_timeout = '60s';
TRUNCATE sessions;
