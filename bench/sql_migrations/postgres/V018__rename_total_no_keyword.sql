-- expect: renaming-column
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE orders RENAME total TO amount_total;
