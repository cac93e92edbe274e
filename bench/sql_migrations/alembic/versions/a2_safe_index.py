# expect: safe
"""index accounts.plan without blocking writes"""
import sqlalchemy as sa
from alembic import op

revision = "a2"
down_revision = "a1"


def upgrade():
    op.add_column("accounts", sa.Column("tier", sa.Text(), nullable=True))
    op.add_column("accounts", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.get_context().autocommit_block():
        op.create_index("accounts_tier_idx", "accounts", ["tier"], postgresql_concurrently=True)


def downgrade():
    op.drop_column("accounts", "tier")
