-- expect: renaming-column
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE users RENAME COLUMN name TO full_name;
