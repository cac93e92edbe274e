-- expect: index-not-concurrent
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
