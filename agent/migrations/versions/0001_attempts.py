"""attempts, orphan reservations, page patterns

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("pid", sa.Integer),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("person", sa.String(64), nullable=False, index=True),
        sa.Column("watch_id", sa.Integer),
        sa.Column("service_id", sa.Integer, nullable=False, index=True),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("office_id", sa.Integer),
        sa.Column("slot_ts", sa.Integer),
        sa.Column("reservation_minutes", sa.Integer),
        sa.Column("reserve_sent_at", sa.Float),
        sa.Column("process_id", sa.Integer),
        sa.Column("auth_key", sa.String(64)),
        sa.Column("process_status", sa.String(20)),
        sa.Column("tries", sa.JSON, nullable=False),
        sa.Column("step_seconds", sa.JSON, nullable=False),
        sa.Column("outcome", sa.String(30)),
        sa.Column("reason", sa.Text),
        sa.Column("diff", sa.JSON, nullable=False),
        sa.Column("handoff_link", sa.Text),
        sa.Column("activation_deadline", sa.Float),
        sa.Column("trace_path", sa.Text),
    )
    op.create_table(
        "orphan_reservations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("attempt_id", sa.Integer, sa.ForeignKey("attempts.id"), nullable=False),
        sa.Column("person", sa.String(64), nullable=False, index=True),
        sa.Column("service_id", sa.Integer, nullable=False),
        sa.Column("office_id", sa.Integer),
        sa.Column("slot_ts", sa.Integer),
        sa.Column("sent_at", sa.Float, nullable=False),
        sa.Column("hold_until", sa.Float, nullable=False),
    )
    op.create_table(
        "page_patterns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("fingerprint", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("site", "step"),
    )


def downgrade() -> None:
    op.drop_table("page_patterns")
    op.drop_table("orphan_reservations")
    op.drop_table("attempts")
