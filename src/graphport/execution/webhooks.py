"""POST the finished run to its webhook: owned tasks, a timeout, retries with backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from graphport.execution.completions import RunOutcome
from graphport.serialization import dumps
from graphport.services.webhooks import WebhookPolicy

logger = logging.getLogger(__name__)

Row = dict[str, Any]

_RUN_FIELDS = (
    "run_id",
    "thread_id",
    "assistant_id",
    "created_at",
    "metadata",
    "kwargs",
    "multitask_strategy",
)


def webhook_payload(run: Row, outcome: RunOutcome) -> Row:
    payload = {k: run[k] for k in _RUN_FIELDS}
    payload.update(
        status=outcome.status,
        updated_at=datetime.now(UTC),
        values=outcome.values,
        error=outcome.error,
        webhook_sent_at=datetime.now(UTC),
    )
    return payload


# told of each delivery's outcome: "delivered" (2xx, 3xx), "rejected" (a 4xx answer, not
# retried) or "failed" (5xx, 429 or unreachable, through every retry)
Sent = Callable[[str], None]


class WebhookSender:
    def __init__(self, policy: WebhookPolicy, *, sent: Sent | None = None) -> None:
        self._policy = policy
        self._sent = sent
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self._policy.timeout_seconds)

    async def stop(self, grace_seconds: float = 5.0) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace_seconds)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def on_finished(self, run: Row, outcome: RunOutcome, _seconds: float = 0.0) -> None:
        url = run["kwargs"].get("webhook")
        if not url or self._client is None:
            return
        task = asyncio.create_task(self._deliver(url, webhook_payload(run, outcome)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, payload: Row) -> None:
        assert self._client is not None
        body = dumps(payload)
        headers = {"content-type": "application/json", **self._policy.headers}
        for attempt in range(1, self._policy.max_attempts + 1):
            try:
                response = await self._client.post(url, content=body, headers=headers)
                if response.status_code < 500 and response.status_code != 429:
                    if self._sent is not None:
                        self._sent("delivered" if response.status_code < 400 else "rejected")
                    return
                problem = f"status {response.status_code}"
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if attempt < self._policy.max_attempts:
                await asyncio.sleep(min(0.5 * 2 ** (attempt - 1), 5.0))
        logger.warning("webhook for run %s failed after retries: %s", payload["run_id"], problem)
        if self._sent is not None:
            self._sent("failed")
