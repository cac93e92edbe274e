-- expect: foreign-key-not-valid
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE orders ADD COLUMN coupon_id bigint REFERENCES coupons (id);
