"""Mosquitto configuration generated from the registry: accounts and access control for
the dynamic-security plugin, and the broker's config.

Access control is Mosquitto 2's dynamic-security plugin (it ships with Mosquitto >= 2.0;
Debian's `mosquitto` package has it), not the plain `acl_file`: the plugin checks
SUBSCRIBE, so a device that asks for `#`, `$share/...` or another device's `cmd` is
refused in the SUBACK (reason 135) and nothing is ever routed into its session, where
the ACL file lets the subscription stand and drops at delivery (a `$share` member that
drops is a member that eats its share). Default deny on all four checks. Each device
authenticates as itself (username = device id, password derived from the device secret,
see `domain.device_password`), may connect only with its own id as client id, publish
only on its own four device -> backend topics and subscribe only to its own `cmd`.

The backend is four accounts, one per kind of connection, each allowed only what that
connection does (`BackendRole`): the gateway reads device traffic (plain or through a
shared subscription) and the gateways' presence; the rule engine's consumer reads device
traffic; the case publisher (the workflow in the rule engine, the supervisor and the API)
publishes case transitions; the API publishes device commands.
Their passwords are derived from the one backend secret (`backend_account`), as device
passwords are from the device secret. A fleet account (development and load tests)
publishes for any device and reads every `cmd`. Backend and fleet accounts are not bound
to a client id (a gateway takes over a departed gateway's session under that gateway's
id; the plugin binds one id per account): their secrets are the backend's.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import hmac
import json
import os
import pwd
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from broker._errors import BrokerError
from domain import BACKEND_PREFIX, DEVICE_CHANNELS, PREFIX, Channel, Kind, Topic, device_password

# Mosquitto 2's password hash: PBKDF2-SHA512, 101 iterations, 12-byte salt (what
# `mosquitto_passwd` and `mosquitto_ctrl` write).
_PBKDF2_ITERATIONS = 101
_SALT_BYTES = 12
# The broker refuses packets above this; the gateway dead-letters payloads above its own
# (smaller, 64 KiB) limit, so an oversized payload reaches a dead-letter record instead
# of vanishing at the broker.
MAX_PACKET_BYTES = 1024 * 1024
# Per-client queue while a client (the gateway's persistent session) is away: a
# restart's worth of a district's traffic. Bounded: memory_limit-style protection.
MAX_QUEUED_MESSAGES = 2_000_000
# Seconds between snapshots of the broker's persistence (README "Broker restarts and crashes"): a
# SIGKILL loses what it acknowledged since the last and had not delivered. Each save
# writes everything the broker holds, in its one thread (`dayuan bench broker-save`:
# ~4 us per held message here): a compound's broker saves in milliseconds, a backlog of
# 300,000 messages (a long database outage) in ~2.6 s.
AUTOSAVE_INTERVAL_S = 10
SECURITY_FILE = "dynamic-security.json"
# The dynamic-security plugin's command topic and where it answers (Mosquitto >= 2.0).
DYNSEC_TOPIC = "$CONTROL/dynamic-security/v1"
DYNSEC_RESPONSE_TOPIC = f"{DYNSEC_TOPIC}/response"
# Where distributions put the plugin (Debian, Fedora, Alpine, source builds).
PLUGIN_CANDIDATES = (
    "/usr/lib/*/mosquitto_dynamic_security.so",
    "/usr/lib*/mosquitto_dynamic_security.so",
    "/usr/local/lib*/mosquitto_dynamic_security.so",
)
# The user Debian's and most packaged brokers drop privileges to.
BROKER_USER = "mosquitto"


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    password: str


class BackendRole(StrEnum):
    """The backend's broker accounts: one per kind of connection, each least privilege."""

    GATEWAY = "gateway"  # device traffic (plain and $share) and the gateways' presence
    RULES = "rules"  # device traffic, read only (the rule engine's own consumer)
    CASES = "cases"  # publishes case transitions (workflow, supervisor, API)
    API = "api"  # publishes device commands (their acks come through the gateway)
    # Creates and deletes device accounts on the running broker (the API's device
    # provisioning) through the dynamic-security plugin's $CONTROL topic.
    ACCOUNTS = "accounts"


# Same length as a device's derived password: 192 bits.
_BACKEND_PASSWORD_BYTES = 24


def backend_account(role: BackendRole, secret: str) -> Account:
    """The broker account of `role`: `dayuan-<role>`, its password an HMAC of the role
    under the backend secret (DAYUAN_BACKEND_PASSWORD)."""
    digest = hmac.new(secret.encode(), f"dayuan-backend:{role}".encode(), hashlib.sha256)
    password = base64.urlsafe_b64encode(digest.digest()[:_BACKEND_PASSWORD_BYTES]).decode()
    return Account(f"dayuan-{role}", password)


@dataclass(frozen=True, slots=True)
class TlsListener:
    """A TLS listener (MQTT over TLS, conventionally port 8883): the server's certificate
    chain and key in PEM; devices and remote gateways verify it against their CA."""

    host: str
    port: int
    certfile: Path
    keyfile: Path


@dataclass(frozen=True, slots=True)
class DeviceEntry:
    device_id: str
    compound: str
    kind: Kind


def dynsec_plugin() -> Path:
    """The dynamic-security plugin's shared object, or BrokerError saying how to get it."""
    for pattern in PLUGIN_CANDIDATES:
        for found in sorted(glob.glob(pattern)):
            return Path(found)
    raise BrokerError(
        "Mosquitto's dynamic-security plugin (mosquitto_dynamic_security.so, Mosquitto >= 2.0)"
        " was not found; install Mosquitto 2 (Debian: apt-get install mosquitto) or pass"
        " its path with --dynsec-plugin"
    )


def password_entry(password: str, salt: bytes | None = None) -> dict[str, Any]:
    """A dynamic-security client's `password`, `salt` and `iterations`."""
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _PBKDF2_ITERATIONS)
    return {
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": _PBKDF2_ITERATIONS,
    }


def _acl(kind: str, topic: str) -> dict[str, Any]:
    return {"acltype": kind, "topic": topic, "allow": True}


def _reads(pattern: str) -> list[dict[str, Any]]:
    """Subscribe to, receive on and unsubscribe from `pattern`."""
    return [
        _acl("subscribePattern", pattern),
        _acl("publishClientReceive", pattern),
        _acl("unsubscribePattern", pattern),
    ]


def _backend_roles() -> dict[BackendRole, list[dict[str, Any]]]:
    traffic = [
        *_reads(f"{PREFIX}/#"),
        # A shared subscription: the check sees the whole `$share` filter.
        _acl("subscribePattern", f"$share/+/{PREFIX}/#"),
        _acl("unsubscribePattern", f"$share/+/{PREFIX}/#"),
    ]
    return {
        BackendRole.GATEWAY: [
            *traffic,
            _acl("publishClientSend", f"{BACKEND_PREFIX}/#"),
            *_reads(f"{BACKEND_PREFIX}/#"),
        ],
        BackendRole.RULES: _reads(f"{PREFIX}/#"),
        BackendRole.CASES: [_acl("publishClientSend", f"{PREFIX}/+/cases/#")],
        # Commands only: their acks reach the API through what the gateway stored.
        BackendRole.API: [_acl("publishClientSend", f"{PREFIX}/+/+/+/{Channel.CMD}")],
        BackendRole.ACCOUNTS: [
            _acl("publishClientSend", DYNSEC_TOPIC),
            *_reads(DYNSEC_RESPONSE_TOPIC),
        ],
    }


def device_role(entry: DeviceEntry) -> dict[str, Any]:
    """A device's own role: publish on its four device -> backend topics, subscribe to
    and receive its own `cmd`, nothing else."""
    cmd = str(Topic(entry.compound, entry.kind, entry.device_id, Channel.CMD))
    acls = [
        _acl("publishClientSend", str(Topic(entry.compound, entry.kind, entry.device_id, c)))
        for c in sorted(DEVICE_CHANNELS)
    ]
    acls += [
        _acl("subscribeLiteral", cmd),
        _acl("publishClientReceive", cmd),
        _acl("unsubscribeLiteral", cmd),
    ]
    return {"rolename": f"device:{entry.device_id}", "acls": acls}


def security_document(
    devices: Iterable[DeviceEntry],
    *,
    device_secret: str,
    backend_secret: str,
    fleet: Account | None = None,
) -> dict[str, Any]:
    """The dynamic-security plugin's configuration: clients, roles, default deny."""
    clients: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = []
    for backend_role, acls in _backend_roles().items():
        account = backend_account(backend_role, backend_secret)
        roles.append({"rolename": account.username, "acls": acls})
        clients.append(
            {
                "username": account.username,
                **password_entry(account.password),
                "roles": [{"rolename": account.username}],
            }
        )
    if fleet is not None:
        roles.append(
            {
                "rolename": "dayuan-fleet",
                # Any topic under the prefix: load tests send bad topics on purpose.
                "acls": [
                    _acl("publishClientSend", f"{PREFIX}/#"),
                    *_reads(f"{PREFIX}/+/+/+/{Channel.CMD}"),
                ],
            }
        )
        clients.append(
            {
                "username": fleet.username,
                **password_entry(fleet.password),
                "roles": [{"rolename": "dayuan-fleet"}],
            }
        )
    for d in devices:
        role = device_role(d)
        roles.append(role)
        clients.append(
            {
                "username": d.device_id,
                "clientid": d.device_id,  # a device connects only under its own id
                **password_entry(device_password(device_secret, d.device_id)),
                "roles": [{"rolename": role["rolename"]}],
            }
        )
    return {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": False,
        },
        "clients": clients,
        "groups": [],
        "roles": roles,
    }


def mosquitto_conf(
    *,
    directory: Path,
    host: str,
    port: int,
    persistence: bool = True,
    log_file: Path | None = None,
    embedded: bool = False,
    tls: TlsListener | None = None,
    plugin: Path,
    autosave_interval_s: int = AUTOSAVE_INTERVAL_S,
) -> str:
    lines = [
        "# Generated by Dayuan. The reference broker configuration; see README 'Broker'.",
        # One security configuration for every listener, plain and TLS alike.
        "per_listener_settings false",
        f"listener {port} {host}",
        "allow_anonymous false",
        f"plugin {plugin}",
        f"plugin_opt_config_file {directory / SECURITY_FILE}",
        f"max_packet_size {MAX_PACKET_BYTES}",
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        # MQTT 3.1.1 clients have no Receive Maximum; give them the gateway's window too.
        "max_inflight_messages 15000",
        "persistent_client_expiration 7d",
    ]
    if tls is not None:
        lines += [
            f"listener {tls.port} {tls.host}",
            f"certfile {tls.certfile}",
            f"keyfile {tls.keyfile}",
            "tls_version tlsv1.2",  # the oldest version still considered safe
        ]
    if embedded and os.geteuid() == 0:
        # A broker we start ourselves, from files only we can read: as root, Mosquitto
        # would switch to the `mosquitto` user and lose access to them.
        lines.append("user root")
    if persistence:
        lines += [
            "persistence true",
            f"persistence_location {directory}/",
            f"autosave_interval {autosave_interval_s}",
        ]
    if log_file is not None:
        lines += [
            f"log_dest file {log_file}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "connection_messages true",
        ]
    return "\n".join(lines) + "\n"


def write_config(
    directory: Path,
    devices: list[DeviceEntry],
    *,
    device_secret: str,
    backend_secret: str,
    fleet: Account | None,
    host: str,
    port: int,
    embedded: bool = False,
    tls: TlsListener | None = None,
    plugin: Path | None = None,
    autosave_interval_s: int = AUTOSAVE_INTERVAL_S,
) -> Path:
    """Write mosquitto.conf and the dynamic-security file into `directory`; return the
    conf's path. As root, for a broker that drops to the `mosquitto` user, the files and
    the directory are handed to that user (the plugin rewrites its file in place)."""
    directory.mkdir(parents=True, exist_ok=True)
    document = security_document(
        devices, device_secret=device_secret, backend_secret=backend_secret, fleet=fleet
    )
    security = directory / SECURITY_FILE
    _write_private(security, json.dumps(document, indent=1) + "\n")
    conf = directory / "mosquitto.conf"
    conf.write_text(
        mosquitto_conf(
            directory=directory,
            host=host,
            port=port,
            log_file=directory / "mosquitto.log",
            embedded=embedded,
            tls=tls,
            plugin=_checked(plugin) if plugin is not None else dynsec_plugin(),
            autosave_interval_s=autosave_interval_s,
        )
    )
    if not embedded and os.geteuid() == 0:
        _hand_to_broker_user(directory, security)
    return conf


def _checked(plugin: Path) -> Path:
    if not plugin.is_file():
        raise BrokerError(f"--dynsec-plugin {plugin}: no such file")
    return plugin.resolve()


def _hand_to_broker_user(*paths: Path) -> None:
    try:
        user = pwd.getpwnam(BROKER_USER)
    except KeyError:
        return  # no such user: the broker runs as whoever starts it
    for path in paths:
        os.chown(path, user.pw_uid, user.pw_gid)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
