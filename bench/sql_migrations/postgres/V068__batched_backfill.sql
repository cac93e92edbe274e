-- expect: safe
SET lock_timeout = '5s';
SET statement_timeout = '60s';
UPDATE users SET status = 'active' WHERE id BETWEEN 1 AND 10000 AND status IS NULL;
