"""Subscriptions, followed topics, announced articles and the push outbox.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("chat_id", sa.BigInteger, primary_key=True),
        sa.Column("created_by", sa.BigInteger),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("created_by", sa.BigInteger),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("chat_id", "topic", name="follows_once"),
    )
    op.create_table(
        "announced",
        sa.Column("article_id", sa.String(500), primary_key=True),
        sa.Column("index_version", sa.String(80)),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("article_id", sa.String(500), nullable=False),
        sa.Column("reason", sa.String(220), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="pending"),
        sa.Column("claimed_by", sa.String(80)),
        sa.Column("claimed_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("chat_id", "article_id", name="outbox_once_per_chat"),
    )
    op.create_index("outbox_status", "outbox", ["status", "chat_id"])


def downgrade() -> None:
    op.drop_index("outbox_status", "outbox")
    for table in ("outbox", "announced", "follows", "subscriptions"):
        op.drop_table(table)
