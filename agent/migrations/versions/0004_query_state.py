"""what each distinct query saw in its last successful poll (survives restarts)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "query_state",
        sa.Column("query", sa.String(200), primary_key=True),
        sa.Column("seen", sa.JSON, nullable=False),  # [[officeId, unix], …] visible in the last poll
        sa.Column("polled_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("query_state")
