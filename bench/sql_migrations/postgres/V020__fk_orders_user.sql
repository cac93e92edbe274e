-- expect: foreign-key-not-valid
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE orders ADD CONSTRAINT orders_user_fk
  FOREIGN KEY (user_id) REFERENCES users (id);
