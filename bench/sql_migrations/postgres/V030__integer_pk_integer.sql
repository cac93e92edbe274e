-- expect: integer-primary-key
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE TABLE tags (id integer PRIMARY KEY, name text NOT NULL);
