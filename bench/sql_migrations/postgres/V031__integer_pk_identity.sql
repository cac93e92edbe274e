-- expect: integer-primary-key
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE TABLE notes (
  id int GENERATED ALWAYS AS IDENTITY,
  body text,
  PRIMARY KEY (id)
);
