# expect: integer-primary-key, timestamp-without-time-zone
"""create invoices"""
import sqlalchemy as sa
from alembic import op

revision = "a4"
down_revision = "a3"


def upgrade():
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.Column("number", sa.Text(), nullable=False),
    )


def downgrade():
    op.drop_table("invoices")
