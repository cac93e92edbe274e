-- expect: safe
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE TABLE IF NOT EXISTS payments (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id bigint NOT NULL,
  paid_at timestamptz NOT NULL DEFAULT now(),
  note text
);
