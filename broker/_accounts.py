"""Device accounts on the running broker: created when a device is provisioned, deleted
(and the device disconnected) when it is retired, through the dynamic-security plugin's
command topic as the `BackendRole.ACCOUNTS` account. One short connection per change:
provisioning is an administrator's occasional act, not traffic.

Both changes are idempotent, so a provisioning retried after a failure half-way (the
role made, the client not) or a retirement of a device the broker never knew succeeds."""

from __future__ import annotations

import json
import secrets
import ssl
import threading
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.reasoncodes import ReasonCode

from broker._clients import paho_client
from broker._config import DYNSEC_RESPONSE_TOPIC, DYNSEC_TOPIC, DeviceEntry, device_role
from broker._endpoint import MqttEndpoint
from broker._errors import AccountRefused, BrokerUnreachable
from domain import device_password

__all__ = ["provision_device", "retire_device"]

# Connecting, subscribing and the plugin's answer on a loaded broker: seconds, not more;
# an administrator waits on the other end of the request.
ACCOUNTS_TIMEOUT_S = 10.0
# What the plugin answers when a delete meets nothing: already the state we want.
_ABSENT = ("not found",)
# The backend's and the fleet's accounts (`backend_account`, `dayuan-fleet`): no device
# may be provisioned or retired under these names.
RESERVED_PREFIX = "dayuan-"


def provision_device(endpoint: MqttEndpoint, entry: DeviceEntry, *, device_secret: str) -> None:
    """Give `entry` its broker account: its own role (its topics only), its client bound
    to its id, its password derived from the device secret. A leftover account of the
    same id is replaced (and its connection dropped)."""
    _not_reserved(entry.device_id)
    role = device_role(entry)
    _run(
        endpoint,
        [
            {"command": "deleteClient", "username": entry.device_id},
            {"command": "deleteRole", "rolename": role["rolename"]},
            {"command": "createRole", **role},
            {
                "command": "createClient",
                "username": entry.device_id,
                "clientid": entry.device_id,
                "password": device_password(device_secret, entry.device_id),
                "roles": [{"rolename": role["rolename"]}],
            },
        ],
        tolerate={0, 1},
    )


def retire_device(endpoint: MqttEndpoint, device_id: str) -> None:
    """Delete the device's account and role: the broker drops its connection and refuses
    the next one."""
    _not_reserved(device_id)
    _run(
        endpoint,
        [
            {"command": "deleteClient", "username": device_id},
            {"command": "deleteRole", "rolename": f"device:{device_id}"},
        ],
        tolerate={0, 1},
    )


def _not_reserved(device_id: str) -> None:
    if device_id.startswith(RESERVED_PREFIX):
        raise AccountRefused(
            "a device account", f"{device_id!r}: names starting {RESERVED_PREFIX!r} are reserved"
        )


def _run(endpoint: MqttEndpoint, commands: list[dict[str, Any]], *, tolerate: set[int]) -> None:
    """Send `commands` in one request and wait for the plugin's answers; the commands at
    the indexes in `tolerate` may fail with "not found"."""
    tag = secrets.token_hex(8)
    for i, c in enumerate(commands):
        c["correlationData"] = f"{tag}-{i}"
    answers: dict[str, dict[str, Any]] = {}
    subscribed, done = threading.Event(), threading.Event()
    client = paho_client(endpoint, f"dayuan-accounts-{tag}", reconnect=False)

    def on_connect(c: paho.Client, u: object, f: object, rc: ReasonCode, p: object) -> None:
        if not rc.is_failure:
            c.subscribe(DYNSEC_RESPONSE_TOPIC, qos=1)

    def on_subscribe(c: paho.Client, u: object, mid: int, rcs: list[Any], p: object) -> None:
        subscribed.set()

    def on_message(c: paho.Client, u: object, msg: paho.MQTTMessage) -> None:
        try:
            body = json.loads(msg.payload)
        except ValueError:
            return
        for r in body.get("responses", []):
            key = str(r.get("correlationData", ""))
            if key.startswith(tag):
                answers[key] = r
        if len(answers) == len(commands):
            done.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    try:
        client.connect(endpoint.host, endpoint.port)
    except (OSError, ssl.SSLError) as exc:
        raise BrokerUnreachable(str(endpoint), f"cannot connect: {exc}") from exc
    client.loop_start()
    try:
        if not subscribed.wait(ACCOUNTS_TIMEOUT_S):
            raise BrokerUnreachable(
                str(endpoint), f"did not accept {endpoint.username} for account changes"
            )
        client.publish(DYNSEC_TOPIC, json.dumps({"commands": commands}), qos=1)
        if not done.wait(ACCOUNTS_TIMEOUT_S):
            raise BrokerUnreachable(
                str(endpoint),
                "no answer from the dynamic-security plugin (is it loaded, and does"
                f" {endpoint.username} have its role?)",
            )
    finally:
        client.disconnect()
        client.loop_stop()
    for i, c in enumerate(commands):
        error = answers[f"{tag}-{i}"].get("error")
        if not error:
            continue
        if i in tolerate and any(a in str(error).lower() for a in _ABSENT):
            continue
        raise AccountRefused(c["command"], str(error))
