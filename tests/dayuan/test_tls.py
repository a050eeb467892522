"""MQTT over TLS against a real Mosquitto with the TLS listener `dayuan broker config`
writes: the gateway and the case publisher connect with mqtts:// and the CA, and what a
device sends over TLS is stored; a client that cannot verify the broker, or speaks plain
MQTT to the TLS port, gets nowhere."""

from __future__ import annotations

import argparse
import socket
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from pydantic import ValidationError

from broker import MqttEndpoint, TlsListener, free_port, publisher
from dayuan import _commands, wiring
from dayuan.settings import Settings
from domain import device_password
from tests.factories import LIGHT, dumps, now_ms, topic
from tests.fix_gateway import settings_for, wait_for
from tests.fix_mqtt import BACKEND, CASES_ACCOUNT, DEVICE_SECRET, FLEET, Broker, own_broker


@dataclass(frozen=True)
class TlsBroker:
    broker: Broker  # its TLS port
    ca: Path

    @property
    def url(self) -> str:
        b = self.broker
        return f"mqtts://{b.host}:{b.port}"  # each connection brings its role's account


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 and localhost."""
    ca_key, ca, key, csr, cert = (
        directory / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=t")
    _openssl("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    san = directory / "san.cnf"
    san.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", san,
    )  # fmt: skip
    return ca, cert, key


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    directory = tmp_path_factory.mktemp("tls")
    ca, cert, key = _certificates(directory)
    listener = TlsListener("127.0.0.1", free_port(), cert, key)
    with own_broker(directory, tls=listener) as secure:
        yield TlsBroker(secure, ca)


def _client(
    user: str, password: str, ca: Path | None, *, client_id: str | None = None
) -> mqtt.Client:
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id or f"t-{uuid.uuid4().hex[:6]}",
        protocol=mqtt.MQTTv5,
        reconnect_on_failure=False,
    )
    client.username_pw_set(user, password)
    if ca is not None:
        client.tls_set(ca_certs=str(ca))
    return client


def test_a_device_over_tls_is_stored_by_a_gateway_over_tls(
    tls: TlsBroker, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    settings = settings_for(db_url, tls.broker, mqtt_url=tls.url, mqtt_tls_ca=tls.ca)
    assert settings.mqtt_url is not None
    endpoint = settings.endpoint_for(settings.mqtt_url)
    assert endpoint.tls
    with wiring.pool(db_url) as db, wiring.gateway(settings, db, endpoint) as gw:
        assert gw.connected.wait(10), "the gateway did not connect over TLS"
        device = _client(LIGHT, device_password(DEVICE_SECRET, LIGHT), tls.ca, client_id=LIGHT)
        device.connect(tls.broker.host, tls.broker.port)
        device.loop_start()
        payload = dumps({"ts": now_ms(), "seq": 1, "values": {"lux": 3.5}})
        device.publish(topic("light", LIGHT, "telemetry"), payload, qos=1).wait_for_publish(5)
        stored = wait_for(conn, f"SELECT count(*) FROM telemetry WHERE device_id = '{LIGHT}'", 1)
        device.disconnect()
        device.loop_stop()
    assert stored == 1


def test_case_transitions_are_published_over_tls(tls: TlsBroker) -> None:
    got: list[str] = []
    subscribed = threading.Event()
    listener = _client(BACKEND.username, BACKEND.password, tls.ca)
    listener.on_message = lambda c, u, m: got.append(m.topic)
    listener.on_subscribe = lambda c, u, mid, codes, p: subscribed.set()
    listener.connect(tls.broker.host, tls.broker.port)
    listener.subscribe("dayuan/v1/+/cases/#", qos=1)
    listener.loop_start()
    assert subscribed.wait(5)
    case_topic = "dayuan/v1/c1/cases/case-1/opened"
    endpoint = MqttEndpoint(
        tls.broker.host,
        tls.broker.port,
        CASES_ACCOUNT.username,
        CASES_ACCOUNT.password,
        tls=True,
        tls_ca=str(tls.ca),
    )
    with publisher(endpoint, "dayuan-cases-tls") as published:
        published.publish(case_topic, b"{}")
    for _ in range(100):
        if got:
            break
        threading.Event().wait(0.02)
    listener.disconnect()
    listener.loop_stop()
    assert got == [case_topic]


def test_a_client_that_cannot_verify_the_broker_or_speaks_plain_mqtt_gets_nowhere(
    tls: TlsBroker,
) -> None:
    system_cas = ssl.create_default_context()  # they never signed the test broker
    with (
        socket.create_connection((tls.broker.host, tls.broker.port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        system_cas.wrap_socket(raw, server_hostname=tls.broker.host)
    plain = _client(FLEET.username, FLEET.password, None)
    answered = threading.Event()
    plain.on_connect = lambda c, u, f, rc, p: answered.set()
    plain.connect(tls.broker.host, tls.broker.port)
    plain.loop_start()
    assert not answered.wait(1.5), "the TLS port accepted plain MQTT"
    plain.disconnect()
    plain.loop_stop()


def test_tls_is_chosen_by_the_url_and_the_listener_needs_all_three_options(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValidationError, match="not mqtts://"):
        Settings(mqtt_url="mqtt://127.0.0.1:1883", mqtt_tls_ca=tmp_path / "ca.pem")
    partial = argparse.Namespace(tls_listen="0.0.0.0:8883", tls_cert=None, tls_key=None)
    with pytest.raises(ValueError, match="together"):
        _commands._tls_listener(partial)
    missing = argparse.Namespace(
        tls_listen=":8883", tls_cert=tmp_path / "nope.pem", tls_key=tmp_path / "nope.key"
    )
    with pytest.raises(ValueError, match="is not a file"):
        _commands._tls_listener(missing)
