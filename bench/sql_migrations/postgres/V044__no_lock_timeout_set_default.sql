-- expect: missing-lock-timeout
ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'new';
