-- expect: safe
-- golang-migrate: the down step of 000079_feature_flags.up.sql undoes it on purpose
DROP TABLE IF EXISTS feature_flags_history;
