# expect: renaming-column, dropping-table, setting-not-null
"""rename and raw SQL"""
from alembic import op

revision = "a3"
down_revision = "a2"


def upgrade():
    op.alter_column("users", "name", new_column_name="full_name")
    op.drop_table("legacy_sessions")
    op.execute("SET lock_timeout = '5s'")
    op.execute("ALTER TABLE users ALTER COLUMN email SET NOT NULL")


def downgrade():
    op.alter_column("users", "full_name", new_column_name="name")
