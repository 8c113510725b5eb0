"""Story pushes: a sent push keeps its message id and text, so the later outlets of the same
story are added to it ("Also: Reuters, AP") instead of arriving as pushes of their own.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("message_id", sa.BigInteger))
        batch.add_column(sa.Column("message_html", sa.Text))
        batch.add_column(sa.Column("also", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("also")
        batch.drop_column("message_html")
        batch.drop_column("message_id")
