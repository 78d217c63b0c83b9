"""keyword alerts: each subscription's keywords

Revision ID: keywords
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "keywords"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One term a line, as /keywords writes them: at most 50 of 100 characters.
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keywords", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_column("keywords")
