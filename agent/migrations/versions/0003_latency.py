"""release-to-reserved latency of watch bookings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("slot_first_seen", sa.Float))  # site clock, when the poller first saw the slot
        batch.add_column(sa.Column("reserved_at", sa.Float))  # our clock, when the reserve answer arrived
        batch.add_column(sa.Column("warm", sa.Boolean))


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("warm")
        batch.drop_column("reserved_at")
        batch.drop_column("slot_first_seen")
