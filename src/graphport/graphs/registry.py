"""Load the graphs named in langgraph.json and hand them out per request."""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import inspect
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID, uuid5

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore

from graphport.config import LanggraphConfig
from graphport.errors import ConfigError
from graphport.graphs.factories import AccessContext, call_factory

logger = logging.getLogger(__name__)

AnyPregel = Pregel[Any, Any, Any, Any]

SYSTEM_ASSISTANT_NAMESPACE = UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
DEFAULT_GRAPH_NAME = "LangGraph"  # what LangGraph names a graph compiled without a name


@functools.lru_cache(maxsize=1024)  # asked on every run created by graph id
def system_assistant_id(graph_id: str) -> UUID:
    """The id of the assistant the server creates for each graph (the official rule)."""
    return uuid5(SYSTEM_ASSISTANT_NAMESPACE, graph_id)


@dataclass(frozen=True)
class GraphEntry:
    graph_id: str
    spec: str
    description: str | None
    graph: AnyPregel | None
    factory: Callable[..., Any] | None


class GraphRegistry:
    """Graphs by id. Factories are called per use with the run's config, as upstream does."""

    def __init__(self, entries: dict[str, GraphEntry]) -> None:
        self._entries = entries
        # readable by every caller whatever their auth filters: computed once
        self.system_assistant_ids = tuple(system_assistant_id(g) for g in entries)
        self._bound_cache: dict[tuple[str, int], AnyPregel] = {}
        self._node_names: dict[str, frozenset[str]] = {}
        self._store: BaseStore | None = None

    def attach_store(self, store: BaseStore) -> None:
        """The long-term memory store every graph gets (set once at startup)."""
        self._store = store
        self._bound_cache.clear()

    @classmethod
    def from_config(cls, config: LanggraphConfig) -> GraphRegistry:
        prepare_imports(config)
        entries = {
            graph_id: _load_entry(config.base_dir, graph_id, spec.path, spec.description)
            for graph_id, spec in config.graphs.items()
        }
        return cls(entries)

    def ids(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, graph_id: object) -> bool:
        return graph_id in self._entries

    def resolve_assistant_id(self, raw: str) -> UUID | None:
        """An assistant id given as a UUID, or a graph id standing for that graph's system
        assistant; None when it is neither."""
        try:
            return UUID(raw)
        except ValueError:
            return system_assistant_id(raw) if raw in self._entries else None

    def entry(self, graph_id: str) -> GraphEntry:
        return self._entries[graph_id]

    @asynccontextmanager
    async def graph(
        self,
        graph_id: str,
        config: RunnableConfig | None = None,
        *,
        checkpointer: BaseCheckpointSaver[Any] | None = None,
        access_context: AccessContext = "assistants.read",
        context: Any = None,
    ) -> AsyncIterator[AnyPregel]:
        """The compiled graph (built by its factory when it has one), bound to the
        server's checkpointer when one is given. A graph left with LangGraph's default name
        is named after ``graph_id``, as the official server does: the root run of its
        ``events`` stream and its state schema's title carry that name."""
        entry = self._entries[graph_id]
        if entry.graph is not None:
            yield self._bound(entry.graph_id, entry.graph, checkpointer)
            return
        assert entry.factory is not None
        made = call_factory(
            entry.factory,
            config or RunnableConfig(configurable={}),
            access_context=access_context,
            context=context,
            store=self._store,
        )
        if inspect.isawaitable(made):
            made = await made
        if isinstance(made, AbstractAsyncContextManager):
            async with made as graph:
                yield self._bind(graph_id, _as_compiled(graph_id, entry.spec, graph), checkpointer)
        elif isinstance(made, AbstractContextManager):
            with made as graph:
                yield self._bind(graph_id, _as_compiled(graph_id, entry.spec, graph), checkpointer)
        else:
            yield self._bind(graph_id, _as_compiled(graph_id, entry.spec, made), checkpointer)

    async def missing_nodes(
        self, graph_id: str, names: Iterable[str], config: RunnableConfig | None = None
    ) -> list[str]:
        """Those of ``names`` that are not nodes of the graph, in order (``[]``: all are).

        A graph's node names are read once and remembered, so checking a run costs no build.
        A factory may build other nodes for another config: a name it has not shown yet is
        looked up in the graph it builds for ``config`` (whose names are remembered too)."""
        known = self._node_names.get(graph_id)
        missing = [n for n in dict.fromkeys(names) if known is None or n not in known]
        if missing and (known is None or self._entries[graph_id].factory is not None):
            async with self.graph(graph_id, config) as graph:
                known = (known or frozenset()) | frozenset(graph.nodes)
            self._node_names[graph_id] = known
            missing = [n for n in missing if n not in known]
        return missing

    def known_nodes(self, graph_id: str) -> frozenset[str]:
        """The node names ``missing_nodes`` has seen for this graph so far."""
        return self._node_names.get(graph_id, frozenset())

    def _bind(
        self, graph_id: str, graph: AnyPregel, checkpointer: BaseCheckpointSaver[Any] | None
    ) -> AnyPregel:
        """``graph`` named (see ``graph``) and bound to ``checkpointer``: one copy at most."""
        update: dict[str, Any] = {}
        if graph.name == DEFAULT_GRAPH_NAME:
            update["name"] = graph_id
        if checkpointer is not None:
            update.update(checkpointer=checkpointer, store=self._store)
        return graph.copy(update=update) if update else graph

    def _bound(
        self, graph_id: str, graph: AnyPregel, checkpointer: BaseCheckpointSaver[Any] | None
    ) -> AnyPregel:
        """Static graphs are bound once per checkpointer and reused (copying costs time)."""
        if checkpointer is None:
            return graph
        key = (graph_id, id(checkpointer))
        bound = self._bound_cache.get(key)
        if bound is None:
            bound = self._bound_cache[key] = self._bind(graph_id, graph, checkpointer)
        return bound


def _apply_env(config: LanggraphConfig) -> None:
    """langgraph.json ``env``: a dict or a .env file; variables already set win. A missing
    file is a warning: in a container the variables come from its environment (images
    leave ``.env`` out, so secrets are not baked in), as with the official ``langgraph up``."""
    if config.env is None:
        return
    if isinstance(config.env, str):
        from dotenv import dotenv_values

        path = (config.base_dir / config.env).resolve()
        if not path.is_file():
            logger.warning("env file %r not found at %s: using the environment", config.env, path)
            return
        values = {k: v for k, v in dotenv_values(path).items() if v is not None}
    else:
        values = config.env
    for key, value in values.items():
        os.environ.setdefault(key, value)


def prepare_imports(config: LanggraphConfig) -> None:
    """Before importing the user's code: langgraph.json's ``env`` set, its
    ``dependencies`` on the import path."""
    _apply_env(config)
    _extend_import_path(config)


def _extend_import_path(config: LanggraphConfig) -> None:
    for dependency in config.dependencies:
        path = (config.base_dir / dependency).resolve()
        if path.is_dir() and str(path) not in sys.path:
            sys.path.insert(0, str(path))


def load_attribute(base_dir: Path, what: str, spec: str) -> Any:
    """The object ``./file.py:attribute`` or ``package.module:attribute`` names."""
    location, sep, attr = spec.rpartition(":")
    if not sep or not location or not attr:
        raise ConfigError(
            f"{what}: {spec!r} must look like './file.py:attribute' or 'package.module:attribute'"
        )
    module = _import_module(base_dir, what, location)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"{what}: {location} has no attribute {attr!r}") from None


def _load_entry(base_dir: Path, graph_id: str, spec: str, description: str | None) -> GraphEntry:
    target = load_attribute(base_dir, f"graph {graph_id!r}", spec)
    if isinstance(target, Pregel | StateGraph):
        graph = _as_compiled(graph_id, spec, target)
        if graph.name == DEFAULT_GRAPH_NAME:  # see GraphRegistry.graph
            graph = graph.copy(update={"name": graph_id})
        return GraphEntry(graph_id, spec, description, graph, None)
    if callable(target):
        return GraphEntry(graph_id, spec, description, None, target)
    raise ConfigError(
        f"graph {graph_id!r}: {spec} is a {type(target).__name__}; expected a compiled graph, "
        "a StateGraph or a function that returns one"
    )


def _import_module(base_dir: Path, what: str, location: str) -> ModuleType:
    is_file = location.endswith(".py") or "/" in location or location.startswith(".")
    try:
        if not is_file:
            return importlib.import_module(location)
        return _import_file(base_dir / location, what)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"{what}: importing {location} failed: {type(exc).__name__}: {exc}"
        ) from exc


def _import_file(path: Path, what: str) -> ModuleType:
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(f"{what}: file {path} not found")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    name = f"graphport_graph_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _as_compiled(graph_id: str, spec: str, value: Any) -> AnyPregel:
    if isinstance(value, StateGraph):
        value = value.compile()
    if not isinstance(value, Pregel):
        raise ConfigError(
            f"graph {graph_id!r}: {spec} produced a {type(value).__name__}, not a compiled graph"
        )
    return value
