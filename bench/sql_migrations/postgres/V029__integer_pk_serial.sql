-- expect: integer-primary-key
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE TABLE invoices (
  id serial PRIMARY KEY,
  total numeric NOT NULL
);
