"""webhook: update ids taken from the webhook, so each update is handled once

Revision ID: webhook
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.tables import UTCDateTime

revision = "webhook"
down_revision = "cluster"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_webhook_updates")),
    )
    op.create_index(
        op.f("ix_webhook_updates_received_at"), "webhook_updates", ["received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_webhook_updates_received_at"), table_name="webhook_updates")
    op.drop_table("webhook_updates")
