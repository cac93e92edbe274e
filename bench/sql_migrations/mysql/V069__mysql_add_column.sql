-- expect: mysql-unsafe-alter
ALTER TABLE users ADD COLUMN bio text;
