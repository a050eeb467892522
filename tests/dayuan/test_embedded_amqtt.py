"""The fallback broker of `dayuan up` (amqtt, MQTT 3.1.1, no $share): the gateway
still validates, stores and dead-letters through it."""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from broker import MqttEndpoint, amqtt_broker, free_port
from dayuan import wiring
from dayuan.settings import Settings
from tests.factories import LIGHT, dumps, now_ms, topic
from tests.fix_gateway import wait_for


def test_gateway_on_amqtt_at_mqtt_311(db_url: str, conn: psycopg.Connection[Any]) -> None:
    port = free_port()
    with amqtt_broker("127.0.0.1", port):
        settings = Settings(database_url=db_url, mqtt_protocol=4, gateway_id="amqtt-test")
        endpoint = MqttEndpoint("127.0.0.1", port, protocol=4)
        with wiring.pool(db_url) as db, wiring.gateway(settings, db, endpoint) as gw:
            assert gw.connected.wait(10)
            publisher = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id="amqtt-pub", protocol=mqtt.MQTTv311
            )
            publisher.connect("127.0.0.1", port)
            publisher.loop_start()
            try:
                t = now_ms()
                for i in range(50):
                    payload = dumps({"ts": t - i, "seq": i, "values": {"lux": i}})
                    publisher.publish(
                        topic("light", LIGHT, "telemetry"), payload, qos=1
                    ).wait_for_publish(5)
                publisher.publish(topic("light", LIGHT, "telemetry"), b"{", qos=1).wait_for_publish(
                    5
                )
                assert wait_for(conn, "SELECT count(*) FROM telemetry", 50) == 50
                assert wait_for(conn, "SELECT count(*) FROM dead_letters", 1) == 1
            finally:
                publisher.disconnect()
                publisher.loop_stop()
