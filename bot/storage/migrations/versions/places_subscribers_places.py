"""places: a subscription belongs to a chat or one forum topic; muted sources per place

Revision ID: places
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "places"
down_revision = "webhook"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every existing subscriber becomes the place of its own chat (thread 0); the key grows
    # to (chat_id, thread_id), so two topics of one forum are two subscriptions.
    with op.batch_alter_table("subscribers", schema=None, recreate="always") as batch_op:
        batch_op.add_column(
            sa.Column(
                "thread_id",
                sa.BigInteger(),
                server_default="0",
                nullable=False,
                autoincrement=False,
            )
        )
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="private", nullable=False)
        )
        batch_op.add_column(
            sa.Column("title", sa.String(length=255), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("added_by", sa.BigInteger(), nullable=True))
        batch_op.drop_constraint("pk_subscribers", type_="primary")
        batch_op.create_primary_key("pk_subscribers", ["chat_id", "thread_id"])
    # Groups already subscribed (negative ids) say so; the title is learnt at their next command.
    op.execute("UPDATE subscribers SET kind = 'group' WHERE chat_id < 0")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("thread_id", sa.BigInteger(), server_default="0", nullable=False)
        )
    op.create_table(
        "muted_sources",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("thread_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id", "thread_id"],
            ["subscribers.chat_id", "subscribers.thread_id"],
            name="fk_muted_sources_place_subscribers",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
            name=op.f("fk_muted_sources_feed_id_feeds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", "thread_id", "feed_id", name=op.f("pk_muted_sources")),
    )

    op.create_table(
        "chosen_places",
        sa.Column("private_chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id", "thread_id"],
            ["subscribers.chat_id", "subscribers.thread_id"],
            name="fk_chosen_places_place_subscribers",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("private_chat_id", name=op.f("pk_chosen_places")),
    )


def downgrade() -> None:
    op.drop_table("chosen_places")
    op.drop_table("muted_sources")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("thread_id")
    op.execute("DELETE FROM subscribers WHERE thread_id <> 0")
    with op.batch_alter_table("subscribers", schema=None, recreate="always") as batch_op:
        batch_op.drop_constraint("pk_subscribers", type_="primary")
        batch_op.create_primary_key("pk_subscribers", ["chat_id"])
        batch_op.drop_column("added_by")
        batch_op.drop_column("title")
        batch_op.drop_column("kind")
        batch_op.drop_column("thread_id")
