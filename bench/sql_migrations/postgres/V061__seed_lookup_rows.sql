-- expect: safe
SET lock_timeout = '5s';
SET statement_timeout = '60s';
INSERT INTO plans (code, name) VALUES ('free', 'Free'), ('pro', 'Pro') ON CONFLICT (code) DO NOTHING;
