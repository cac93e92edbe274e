-- expect: changing-column-type, mysql-unsafe-alter
ALTER TABLE users MODIFY COLUMN age bigint;
