"""people, watches, observations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("first_name", sa.String(50), nullable=False),
        sa.Column("last_name", sa.String(50), nullable=False),
        sa.Column("email", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("chat_id", sa.Integer),
    )
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id"), nullable=False, index=True),
        sa.Column("service_id", sa.Integer, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("office_ids", sa.JSON, nullable=False),
        sa.Column("date_from", sa.String(10), nullable=False),
        sa.Column("date_to", sa.String(10), nullable=False),
        sa.Column("weekdays", sa.JSON, nullable=False),
        sa.Column("time_from", sa.String(5), nullable=False),
        sa.Column("time_to", sa.String(5), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("state_reason", sa.Text),
    )
    op.create_table(
        "observations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("service_id", sa.Integer, nullable=False, index=True),
        sa.Column("office_id", sa.Integer, nullable=False),
        sa.Column("slot_ts", sa.Integer, nullable=False),
        sa.Column("first_seen", sa.Float, nullable=False, index=True),
        sa.Column("gone_at", sa.Float),
    )


def downgrade() -> None:
    op.drop_table("observations")
    op.drop_table("watches")
    op.drop_table("people")
