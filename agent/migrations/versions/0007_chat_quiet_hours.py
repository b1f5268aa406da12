"""A chat's own quiet hours (/quiet)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as table:
        table.add_column(sa.Column("quiet_hours", sa.String(11)))  # null: MTA_QUIET_HOURS decides


def downgrade() -> None:
    with op.batch_alter_table("chats") as table:
        table.drop_column("quiet_hours")
