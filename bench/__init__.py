"""Dayuan's benchmarks, drills and run checks: what measures or exercises the product
rather than being it. `dayuan bench
ingest|layout|rollups|queries|storage|rules|alarms|faults|notify|brokers|district|api`,
`dayuan drill` and `dayuan manifest check` are wired by `dayuan.cli` to the commands
here; each is `command(args, settings) -> int` and prints JSON. The benchmarks build
their own broker, database and processes through `dayuan.wiring` (and `dayuan.cli
gateway` subprocesses), so this package sits between the CLI and the rest of `dayuan`
(pyproject's layers).
`account` is also what tests use to check a simulator run landed whole, and
`RabbitNode` the private RabbitMQ node they crash; `alarm_quality` scores the rule
catalogue against a simulated run's incidents (`dayuan bench alarms`, and its test)."""

from bench._alarms import alarm_quality, bench_alarms
from bench._api import bench_api
from bench._brokers import bench_brokers
from bench._district import bench_district
from bench._drill import drill
from bench._faults import Plan, run_scenario
from bench._ingest import bench_ingest
from bench._layout import bench_layout
from bench._manifest import ManifestAccount, account, manifest_check
from bench._notify import bench_notify
from bench._process_faults import ProcessPlan, bench_faults, run_process_scenario
from bench._queries import bench_queries
from bench._rabbitmq import RabbitNode, rabbitmq_installed
from bench._rollups import bench_rollups
from bench._rules import bench_rules
from bench._save import bench_broker_save
from bench._storage import bench_storage

__all__ = [
    "ManifestAccount",
    "Plan",
    "ProcessPlan",
    "RabbitNode",
    "account",
    "alarm_quality",
    "bench_alarms",
    "bench_api",
    "bench_broker_save",
    "bench_brokers",
    "bench_district",
    "bench_faults",
    "bench_ingest",
    "bench_layout",
    "bench_notify",
    "bench_queries",
    "bench_rollups",
    "bench_rules",
    "bench_storage",
    "drill",
    "manifest_check",
    "rabbitmq_installed",
    "run_process_scenario",
    "run_scenario",
]
