"""What a process runs, by its role (``GRAPHPORT_ROLE``, set by the command).

- ``all`` (``graphport dev``, ``graphport serve``): the API, ``N_JOBS_PER_WORKER`` run
  slots, the cron scheduler and the sweepers (runs of dead workers, thread and store TTLs).
- ``api`` (``graphport serve --no-workers``): the API only. Runs are queued, never claimed
  here; the process still listens for run ends, cancels and thread deletions, to answer
  waits and joins and to pass cancels on to the process that holds the run.
- ``worker`` (``graphport worker``): the run slots, the cron scheduler and the sweepers,
  with a health port (``/ok``, ``/metrics``) in place of the API.

Processes of any role share one PostgreSQL (state and run queue) and need nothing else
from each other.
"""

from __future__ import annotations

from graphport.settings import Settings


def runs_background_work(settings: Settings) -> bool:
    """Whether this process fires crons and sweeps (dead workers' runs, thread and store
    TTLs): every role but ``api``."""
    return settings.role != "api"


def run_slots(settings: Settings) -> int:
    """Runs this process executes at once: none under ``api``."""
    return 0 if settings.role == "api" else settings.n_jobs_per_worker


def describe(settings: Settings) -> str:
    """One line for the startup log, e.g. ``role worker: 10 run slots, cron scheduler,
    sweepers; health on /ok and /metrics``."""
    if settings.role == "api":
        return "role api: the API only; runs are queued for worker processes"
    work = f"{run_slots(settings)} run slots, cron scheduler, sweepers"
    if settings.role == "worker":
        return f"role worker: {work}; health on /ok and /metrics"
    return f"role all: the API, {work}"


def broker_warning(settings: Settings, processes: int = 1) -> str | None:
    """What to warn about at startup when processes that share a database stream without
    Redis: a stream gets no events of a run that another process executes."""
    if settings.redis_uri or (settings.role == "all" and processes == 1):
        return None
    return (
        "REDIS_URI is not set: streams served here get no events of runs that another "
        "process executes; set it on every process when there is more than one"
    )
