"""What the app holds for its lifetime: opened in the lifespan, read by dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from psycopg_pool import ConnectionPool

from api._config import ApiConfig
from cases import DEFAULT_POLICY, Policy, Workflow
from domain import Clock
from notify import Links

if TYPE_CHECKING:
    from api._commands import Commands
    from api._hub import FeedHub
    from monitoring import MetricSources


@dataclass(slots=True)
class AppState:
    config: ApiConfig
    clock: Clock
    key: str  # the token signing key in force
    pool: ConnectionPool
    workflow: Workflow
    commands: Commands
    metrics: MetricSources
    feed: FeedHub  # the live feed's one poller and its subscribers
    links: Links  # reads the notifications' acknowledgement links
    policy: Policy = DEFAULT_POLICY  # the workflow's: Open311's service_notice reads it
