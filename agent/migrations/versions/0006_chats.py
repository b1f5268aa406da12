"""Telegram chats: who the admin let in, their language, consent and person

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chats",
        sa.Column("chat_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("allowed", sa.Boolean),  # /allow: true, /deny: false, null: MTA_TELEGRAM_ALLOWED_CHAT_IDS decides
        sa.Column("language", sa.String(2)),
        sa.Column("person_key", sa.String(64)),
        sa.Column("consented_at", sa.Float),
        sa.Column("blocked_at", sa.Float),
    )


def downgrade() -> None:
    op.drop_table("chats")
