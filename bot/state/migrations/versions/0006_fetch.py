"""Fetched feed items and pages (what was seen, where it was written) and named lease locks.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fetched",
        sa.Column("item_key", sa.String(1000), primary_key=True),
        sa.Column("link", sa.String(2000), nullable=False),
        sa.Column("url", sa.String(2000)),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("entry_stamp", sa.String(200)),
        sa.Column("path", sa.String(1000)),
        sa.Column("feed", sa.String(2000), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("fetched_link", "fetched", ["link"])
    op.create_index("fetched_url", "fetched", ["url"])
    op.create_index("fetched_hash", "fetched", ["content_hash"])
    op.create_table(
        "locks",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("locks")
    op.drop_index("fetched_hash", "fetched")
    op.drop_index("fetched_url", "fetched")
    op.drop_index("fetched_link", "fetched")
    op.drop_table("fetched")
