# expect: adding-not-null-column, index-not-concurrent, foreign-key-not-valid
"""add plan to accounts"""
import sqlalchemy as sa
from alembic import op

revision = "a1"
down_revision = None


def upgrade():
    op.add_column("accounts", sa.Column("plan", sa.Text(), nullable=False))
    op.create_index("accounts_plan_idx", "accounts", ["plan"])
    op.create_foreign_key("accounts_owner_fk", "accounts", "users", ["owner_id"], ["id"])


def downgrade():
    op.drop_index("accounts_plan_idx", table_name="accounts")
    op.drop_column("accounts", "plan")
