"""activation from the mailbox: when the agent activated a reservation, when it reminded the person

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("activated_at", sa.Float))  # the activation answered "confirmed"
        batch.add_column(sa.Column("activation_reminded_at", sa.Float))  # the one "deadline near" notice


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("activation_reminded_at")
        batch.drop_column("activated_at")
