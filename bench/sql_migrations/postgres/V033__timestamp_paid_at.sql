-- expect: timestamp-without-time-zone
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE orders ADD COLUMN paid_at timestamp;
