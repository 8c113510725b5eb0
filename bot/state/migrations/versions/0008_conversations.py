"""Conversations: where a private chat (or a forum topic) last started afresh with /new, so a
question after it is never taken as a follow-up of an answer before it.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("chat_id", sa.BigInteger, primary_key=True),
        sa.Column("thread_id", sa.BigInteger, primary_key=True),  # 0: none
        sa.Column("reset_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("conversations")
