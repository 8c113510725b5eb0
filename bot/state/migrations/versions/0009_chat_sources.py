"""Chat sources: the publishers a chat chose with /sources; its questions search only their
articles unless a question names another.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_sources",
        sa.Column("chat_id", sa.BigInteger, primary_key=True),
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("created_by", sa.BigInteger),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chat_sources")
