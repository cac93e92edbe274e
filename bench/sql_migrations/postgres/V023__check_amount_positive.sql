-- expect: check-not-valid
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0);
