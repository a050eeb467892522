"""A private RabbitMQ node with its MQTT plugin: the broker of `dayuan bench faults
--broker rabbitmq` and of the tests that crash one (`tests/fix_rabbitmq.py`).

Everything of the node lives in one directory - node name, AMQP, MQTT and distribution
ports, data, logs, Erlang cookie (its own HOME), configuration and plugin list - so that it
never meets a system node running on the same machine. RabbitMQ 3.x's MQTT plugin speaks
MQTT 3.1.1 and answers a QoS 1 PUBLISH with its PUBACK only when the broker confirms the
message (a publisher confirm): for a persistent message routed to the durable queue of a
clean_session=false subscriber, once it is on disk (README "Zero loss across a broker
crash"). The configuration written here is the one the README documents.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

from bench import _ingest
from broker import Account, free_port, wait_for_port

# Debian's unwrapped scripts: the `rabbitmq-server` on the PATH (/usr/sbin) is a wrapper
# that, run as root, switches to the `rabbitmq` user and its home - the system node's
# cookie - and drops what this node's environment says.
SCRIPT_DIRS = (Path("/usr/lib/rabbitmq/bin"),)
# A node boots in 5-20 s on a loaded 2-core box; recovering long queues takes longer.
START_LIMIT_S = 120.0
# rabbitmqctl starts an Erlang VM of its own for every call: seconds each, under load.
CTL_LIMIT_S = 60.0
STOP_LIMIT_S = 60.0
# Unacknowledged deliveries the broker may have out at one MQTT subscriber: the gateway's
# Receive Maximum (DAYUAN_RECEIVE_MAXIMUM). The plugin's default of 10 holds a gateway that
# acknowledges a batch at a time (every 200 ms) to ~50 msg/s.
PREFETCH = 15_000


class RabbitMQMissing(RuntimeError):
    """RabbitMQ (with its scripts) is not installed here."""


def rabbitmq_script(name: str) -> Path | None:
    """The unwrapped RabbitMQ script `name` (`rabbitmq-server`, `rabbitmqctl`), or None."""
    for directory in SCRIPT_DIRS:
        if (directory / name).is_file():
            return directory / name
    found = shutil.which(name)
    return Path(found) if found else None


def rabbitmq_installed() -> bool:
    return (
        rabbitmq_script("rabbitmq-server") is not None
        and rabbitmq_script("rabbitmqctl") is not None
    )


def rabbitmq_conf(*, mqtt_port: int, amqp_port: int, host: str = "127.0.0.1") -> str:
    """The rabbitmq.conf of a Dayuan broker (README "Zero loss across a broker crash")."""
    return "\n".join(
        [
            f"listeners.tcp.default = {host}:{amqp_port}",
            f"mqtt.listeners.tcp.default = {host}:{mqtt_port}",
            # No anonymous MQTT logins (the plugin lets them in as guest by default).
            "mqtt.allow_anonymous = false",
            f"mqtt.prefetch = {PREFETCH}",
            # A gateway's queue outlives a day away (the plugin's default subscription_ttl
            # is 24 h, after which the durable queue and what it holds are deleted).
            "mqtt.subscription_ttl = 604800000",
            # Below this much free disk the broker blocks publishers instead of failing.
            "disk_free_limit.absolute = 1GB",
            "",
        ]
    )


class RabbitNode:
    """`with RabbitNode(dir) as node:`: a started node; `stop(SIGKILL)` and `start()`
    crash and restart it on the same ports and data. The MQTT listener is `node.port`."""

    def __init__(self, directory: Path, *, host: str = "127.0.0.1") -> None:
        server, ctl = rabbitmq_script("rabbitmq-server"), rabbitmq_script("rabbitmqctl")
        if server is None or ctl is None:  # one check for the tests: rabbitmq_installed()
            raise RabbitMQMissing("rabbitmq-server is not installed (Debian: rabbitmq-server)")
        self.server, self.ctl_script, self.host = server, ctl, host
        self.directory = directory
        self.port = free_port()
        self.amqp_port = free_port()
        self.dist_port = free_port()
        self.node = f"dayuan-{uuid.uuid4().hex[:8]}@localhost"
        self.process: subprocess.Popen[bytes] | None = None
        self.cpu_s = 0.0  # the broker's CPU time over the runs stopped so far
        self._write_files()

    def _write_files(self) -> None:
        home = self.directory / "home"
        for sub in ("home", "mnesia", "log"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        cookie = home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(secrets.token_hex(16))
            cookie.chmod(0o400)
        (self.directory / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
        (self.directory / "rabbitmq.conf").write_text(
            rabbitmq_conf(mqtt_port=self.port, amqp_port=self.amqp_port, host=self.host)
        )

    def env(self) -> dict[str, str]:
        d = self.directory
        return {
            **os.environ,
            "HOME": str(d / "home"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
            "RABBITMQ_LOG_BASE": str(d / "log"),
            "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
        }

    def start(self) -> None:
        with (self.directory / "server.out").open("ab") as out:
            self.process = subprocess.Popen(
                [str(self.server)],
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a SIGKILL takes the VM too
            )
        wait_for_port(self.host, self.port, START_LIMIT_S, self.process)

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        """SIGTERM: the script's clean stop (`rabbitmqctl stop`); SIGKILL: the whole
        process group at once, a crash."""
        if self.process is None:
            return
        self.cpu_s += sum(_ingest.cpu_seconds(pid) for pid in self.pids())
        if how == signal.SIGKILL:
            os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.send_signal(how)
        self.process.wait(STOP_LIMIT_S)
        self.process = None

    def pids(self) -> list[int]:
        """The script and the Erlang VM it started (its child)."""
        assert self.process is not None
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        return [pid, *map(int, children)]

    def ctl(self, *args: str) -> str:
        """`rabbitmqctl ARGS` against this node."""
        done = subprocess.run(
            [str(self.ctl_script), "-n", self.node, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=CTL_LIMIT_S,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {args[0]} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def add_user(self, account: Account) -> None:
        """An account with every right on the default vhost (`/`), as the README has the
        gateway's and the fleet's."""
        self.ctl("add_user", account.username, account.password)
        self.ctl("set_permissions", "-p", "/", account.username, ".*", ".*", ".*")

    def url(self, account: Account) -> str:
        return f"mqtt://{account.username}:{account.password}@{self.host}:{self.port}"

    def __enter__(self) -> RabbitNode:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.stop(signal.SIGTERM)
            except subprocess.TimeoutExpired:
                self.stop(signal.SIGKILL)
