"""graphport_create_run: a run created on an existing thread in one statement

The common case of run creation (no auth filter, the ``enqueue`` strategy) used to take a
transaction of four round trips: BEGIN, lock the thread, insert the run, COMMIT. This
function does the same in one statement, atomic without a transaction of its own. In READ
COMMITTED each statement of a volatile PL/pgSQL function takes a fresh snapshot: the
INSERT, run after the thread's lock is granted, sees every run the previous lock holder
committed (the reason the lock and the insert were two statements).

It returns no row when the thread does not exist (the caller then takes the general path).
Its parameters are the run's columns in the order of ``repositories/runs.py``
(``_PARAMS``), then the metadata the thread must carry (merged in when missing).
A later migration that adds a column the server sets at creation replaces this function.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION graphport_create_run(
            p_run_id uuid, p_thread_id uuid, p_assistant_id uuid, p_graph_id text,
            p_status text, p_metadata jsonb, p_kwargs jsonb, p_multitask_strategy text,
            p_created_at timestamptz, p_updated_at timestamptz, p_available_at timestamptz,
            p_ended_at timestamptz, p_attempt integer, p_worker_id bigint,
            p_cancel_action text, p_error jsonb, p_trace_context jsonb, p_thread_tags jsonb
        ) RETURNS SETOF run LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            tags_present boolean;
            created run;
        BEGIN
            SELECT t.metadata @> p_thread_tags INTO tags_present
            FROM thread t WHERE t.thread_id = p_thread_id FOR UPDATE;
            IF NOT FOUND THEN
                RETURN;
            END IF;
            IF NOT tags_present THEN
                UPDATE thread SET metadata = metadata || p_thread_tags, updated_at = now()
                WHERE thread_id = p_thread_id;
            END IF;
            -- asked to start now (p_status 'running': the caller holds a worker slot) and
            -- no run pending or running on the thread: inserted running, else pending
            INSERT INTO run (
                run_id, thread_id, assistant_id, graph_id, status, metadata, kwargs,
                multitask_strategy, created_at, updated_at, available_at, started_at,
                ended_at, attempt, worker_id, heartbeat_at, cancel_action, error,
                trace_context
            )
            SELECT p_run_id, p_thread_id, p_assistant_id, p_graph_id,
                CASE WHEN d.running THEN 'running' ELSE 'pending' END,
                p_metadata, p_kwargs, p_multitask_strategy,
                COALESCE(p_created_at, d.at), COALESCE(p_updated_at, d.at),
                COALESCE(p_available_at, d.at), CASE WHEN d.running THEN d.at END,
                p_ended_at, CASE WHEN d.running THEN p_attempt ELSE 0 END,
                CASE WHEN d.running THEN p_worker_id END, CASE WHEN d.running THEN d.at END,
                p_cancel_action, p_error, p_trace_context
            FROM (
                SELECT clock_timestamp() AS at, p_status = 'running' AND NOT EXISTS (
                    SELECT 1 FROM run o
                    WHERE o.thread_id = p_thread_id AND o.status IN ('pending', 'running')
                ) AS running
            ) d
            RETURNING * INTO created;
            RETURN NEXT created;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION graphport_create_run(uuid, uuid, uuid, text, text, jsonb, jsonb, text, "
        "timestamptz, timestamptz, timestamptz, timestamptz, integer, bigint, text, jsonb, "
        "jsonb, jsonb)"
    )
