-- expect: safe
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE SEQUENCE IF NOT EXISTS invoice_numbers START 1000;
