"""the database announces every thread that is deleted (THREAD_DELETED), whoever deletes it

A thread is deleted by the API, with its assistant (``delete_threads``), by the TTL sweep,
or by another process sharing the database. Every process may have clients streaming it
(``GET /threads/{id}/stream``): one trigger tells them all, in the deleting transaction's
commit, so those streams end instead of waiting forever.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION graphport_thread_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('graphport_thread_deleted', OLD.thread_id::text);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER thread_deleted AFTER DELETE ON thread FOR EACH ROW
        EXECUTE FUNCTION graphport_thread_deleted()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER thread_deleted ON thread")
    op.execute("DROP FUNCTION graphport_thread_deleted()")
