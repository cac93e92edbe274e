-- expect: safe
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE TABLE IF NOT EXISTS order_notes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES orders (id),
  body text NOT NULL
);
