"""Telegram reach: which messages show which answer (reactions on them are feedback), links
to a quote (t.me/<bot>?start=q_<id>), and the chats the bot was added to or left.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answer_messages",
        sa.Column("chat_id", sa.BigInteger, primary_key=True),
        sa.Column("message_id", sa.BigInteger, primary_key=True),
        sa.Column("answer_id", sa.Integer, nullable=False, index=True),
    )
    op.create_table(
        "quote_links",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("article_id", sa.Text, nullable=False),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("end", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("index_version", sa.String(80)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column("chat_id", sa.BigInteger, primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),  # member, administrator, left...
        sa.Column("changed_by", sa.BigInteger),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("memberships")
    op.drop_table("quote_links")
    op.drop_table("answer_messages")
