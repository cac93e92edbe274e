-- expect: dropping-database
SET lock_timeout = '5s';
SET statement_timeout = '60s';
DROP DATABASE staging;
