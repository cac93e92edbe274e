-- expect: check-not-valid
SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE users ADD CONSTRAINT email_lower CHECK (email = lower(email));
