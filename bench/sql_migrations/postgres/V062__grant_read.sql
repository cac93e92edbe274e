-- expect: safe
SET lock_timeout = '5s';
SET statement_timeout = '60s';
GRANT SELECT ON users TO reporting;
