-- expect: char-column
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE TABLE countries (code char(2) PRIMARY KEY, name text NOT NULL);
