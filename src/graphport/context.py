"""Everything the app builds at startup, held on ``app.state.context``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphport.auth.loader import AuthSetup
from graphport.config import LanggraphConfig
from graphport.db.checkpointer import Checkpointer
from graphport.db.engine import Database
from graphport.execution.shutdown import ShutdownDrain
from graphport.graphs.registry import GraphRegistry
from graphport.services.assistants import AssistantService
from graphport.services.crons import CronService
from graphport.services.metrics import MetricsService
from graphport.services.runs import RunService
from graphport.services.store import StoreService
from graphport.services.streams import StreamService
from graphport.services.thread_state import ThreadStateService
from graphport.services.threads import ThreadService
from graphport.settings import Settings

if TYPE_CHECKING:  # they import the API's request reader, which imports this module
    from graphport.protocols.a2a.service import A2AService
    from graphport.protocols.mcp.service import MCPService
    from graphport.protocols.thread_events.service import ThreadEventsService


@dataclass
class AppContext:
    settings: Settings
    config: LanggraphConfig
    db: Database
    checkpointer: Checkpointer
    registry: GraphRegistry
    assistants: AssistantService
    threads: ThreadService
    thread_state: ThreadStateService
    runs: RunService
    streams: StreamService
    metrics: MetricsService
    store: StoreService
    crons: CronService
    a2a: A2AService
    mcp: MCPService
    thread_events: ThreadEventsService
    auth: AuthSetup | None = None
    drain: ShutdownDrain | None = None  # the run engine's shutdown (SIGTERM)
