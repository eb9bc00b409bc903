"""the database announces every run that ends (RUN_DONE), whoever ends it

A run ends by its worker, by a cancel while pending, by a rollback (deleted), with its
thread (cascade), or by the orphan sweeper. Every process waits on and streams runs it
may not be running: one trigger tells them all, in the ending transaction's commit.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_IN_FLIGHT = "('pending', 'running')"


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION graphport_run_done() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('graphport_run_done', OLD.run_id::text);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER run_done_on_update AFTER UPDATE OF status ON run FOR EACH ROW
        WHEN (OLD.status IN {_IN_FLIGHT} AND NEW.status NOT IN {_IN_FLIGHT})
        EXECUTE FUNCTION graphport_run_done()
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER run_done_on_delete AFTER DELETE ON run FOR EACH ROW
        WHEN (OLD.status IN {_IN_FLIGHT})
        EXECUTE FUNCTION graphport_run_done()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER run_done_on_delete ON run")
    op.execute("DROP TRIGGER run_done_on_update ON run")
    op.execute("DROP FUNCTION graphport_run_done()")
