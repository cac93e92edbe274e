-- expect: renaming-table
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE customers RENAME TO clients;
