-- expect: adding-not-null-column, index-not-concurrent
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE shipments ADD COLUMN carrier text NOT NULL;

CREATE INDEX shipments_carrier_idx ON shipments (carrier);
