-- expect: timestamp-without-time-zone
SET lock_timeout = '5s';
SET statement_timeout = '60s';
CREATE TABLE reminders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  due_at timestamp NOT NULL
);
