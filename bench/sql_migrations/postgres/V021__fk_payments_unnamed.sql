-- expect: foreign-key-not-valid
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE payments ADD FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE;
