-- expect: unique-constraint-without-index
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE coupons ADD UNIQUE (code);
