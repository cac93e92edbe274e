-- expect: safe
ALTER TABLE users ADD COLUMN nick varchar(64), ALGORITHM=INSTANT;
