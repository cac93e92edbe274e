-- expect: safe
ALTER TABLE users ADD INDEX users_nick_idx (nick), ALGORITHM=INPLACE, LOCK=NONE;
