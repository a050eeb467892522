"""The one settings class. Read by entry points only (`dayuan.cli`), passed down as
keyword arguments. Every variable is `DAYUAN_<NAME>`; the README lists them all."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from broker import BackendRole, MqttEndpoint, backend_account
from dayuan._secrets import (
    ADMIN_PASSWORD_BITS,
    ADMIN_PASSWORD_MIN_LENGTH,
    MACHINE_SECRET_BITS,
    weakness,
)

DEV_DEVICE_SECRET = "dayuan-development-device-secret"  # noqa: S105 - refused in production
DEV_BACKEND_PASSWORD = "dayuan-development-backend"  # noqa: S105 - refused in production
# The longest DAYUAN_TOKEN_TTL_S: a stolen token dies within a day (api._config repeats
# the bound for configurations built without settings).
MAX_TOKEN_TTL_S = 24 * 3600


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DAYUAN_", extra="ignore")

    env: Literal["development", "production"] = "development"
    # Where embedded servers keep their data (and the demo compound file).
    data_dir: Path = Path("var")
    database_url: str | None = None  # None: start an embedded PostgreSQL in data_dir/pg
    storage: Literal["auto", "timescaledb", "postgres"] = "auto"
    mqtt_url: str | None = None  # mqtt://user:pass@host:port; None: an embedded broker
    embedded_mqtt_port: int = 1883  # the embedded broker's port (a free one if taken)
    mqtt_protocol: Literal[5, 4] = 5  # 4 = MQTT 3.1.1 (set automatically for amqtt)
    mqtt_tls_ca: Path | None = None  # CA file: connect with TLS (use an mqtts:// URL)
    gateway_id: str = "gateway-1"  # MQTT client id suffix; stable per gateway process
    # Shared-subscription group of scaled-out gateways (the deploy files use "dayuan");
    # empty: one gateway on a plain subscription, which the broker keeps across restarts.
    share_group: str = ""
    # Comma-separated compound ids this process subscribes to (a partition); empty: all.
    compounds: str = ""
    device_secret: SecretStr = SecretStr(DEV_DEVICE_SECRET)
    # Who keeps the devices' broker accounts: "dynsec", the API creates and deletes them on
    # Mosquitto's dynamic-security plugin when a device is provisioned or retired; or
    # "external", another system does (EMQX's or RabbitMQ's own user store).
    broker_accounts: Literal["dynsec", "external"] = "dynsec"
    # The backend secret: each backend connection's broker account (`broker.BackendRole`)
    # derives its password from it.
    backend_password: SecretStr = SecretStr(DEV_BACKEND_PASSWORD)
    batch_max_messages: int = 5000
    batch_max_delay_ms: int = 200
    receive_maximum: int = 15_000
    session_expiry_s: int = 3600
    # A gateway of the share group away this long has its session taken over by another
    # (gateway._takeover): longer than a supervised restart (systemd RestartSec=1 plus
    # start-up), so that a restart keeps its own session.
    takeover_delay_s: int = Field(default=10, ge=0)
    max_payload_bytes: int = 65_536
    max_future_skew_s: int = 300
    # The per-device dead-letter budget (gateway._budget): rows a device may add per window.
    dead_letters_per_device: int = Field(default=60, ge=1)
    dead_letter_window_s: float = Field(default=60.0, gt=0)
    registry_refresh_s: float = 30.0
    maintenance_interval_s: float = 60.0
    silence_factor: float = 3.0
    rules_enabled: bool = True  # evaluate the rule engine inside each gateway process
    rules_file: Path | None = None  # a rule file; None: the shipped rules/catalogue.yaml
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # The first administrator's password, used once, when no administrator exists yet.
    admin_password: SecretStr | None = None
    # Signs API tokens. None in development: a random key per start (tokens die with it).
    token_secret: SecretStr | None = None
    token_ttl_s: int = 8 * 3600  # one monitoring-room shift
    # Comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For is believed.
    trusted_proxies: str = ""
    command_ack_timeout_s: float = 10.0  # a device command without an ack by then failed
    # Open live feeds (GET /api/v1/stream) per API user: a monitoring room's few screens.
    streams_per_user: int = Field(default=5, ge=1)
    # The bearer token Prometheus presents to the API's /metrics. None: open in
    # development, closed in production.
    metrics_token: SecretStr | None = None
    # Keys the signed webhooks (`hmac+https://...`) whose URL carries no `?secret=`.
    notify_webhook_secret: SecretStr | None = None
    # Where people reach the API (the notifications' links `<public_url>/a/<token>`);
    # None: http://DAYUAN_API_HOST:DAYUAN_API_PORT.
    public_url: str | None = None
    # How long a notification's link answers: a day (notify.LINK_TTL).
    ack_link_ttl_s: int = Field(default=24 * 3600, ge=60)
    # Where residents' sign-in codes and outcomes go: a contact URL with {phone} (E.164)
    # or {digits}, e.g. kannel://u:p@sms:13013/{digits}?from=Dayuan; log:// (development
    # only) writes them to the log.
    resident_channel: str = "log://"
    # A resident stays signed in on their phone this long (at most 90 days).
    resident_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=60, le=90 * 24 * 3600)
    # An SOS or fall nobody acknowledged is sent again, and to the next person, this often
    # (notify.NotifyPolicy.ack_repeat_s): 60 s is the telecare answer target.
    notify_repeat_s: float = Field(default=60.0, ge=1)
    # A notifier's claim lease (notify.LEASE): a killed notifier's deliveries are retried
    # this long after their claim; above one delivery's time (its channel timeout, 10 s).
    notify_lease_s: float = Field(default=60.0, ge=20)
    # Messages per second per channel (scheme, host, port) and notifier (notify.RateLimit):
    # a burst of alarms must not get us throttled or banned by a mail relay or SMS gateway.
    notify_rate_per_s: float = Field(default=5.0, gt=0)
    # An idle notifier wakes on NOTIFY; it also looks for work this often, the safety net
    # for a NOTIFY lost while it was disconnected (notify.SAFETY_POLL_S).
    notify_poll_s: float = Field(default=5.0, gt=0)
    # The report categories (cases.REPORT_CATEGORIES) Open311 clients may submit, comma-
    # separated: the shared-facility matters by default (api._config.OPEN311_SERVICES).
    open311_services: str = "repair,environment,parking,noise,public_affairs"
    # How often the API sends the announcements whose window opened (0: this API process
    # does not send them); announce.POLL_S.
    announce_poll_s: float = Field(default=30.0, ge=0)
    # How often the API pairs new plate reads into parking stays (0: this API process does
    # not; `dayuan parking sweep` does it by hand).
    parking_sweep_s: float = Field(default=60.0, ge=0)
    stats_interval_s: float = 30.0  # how often a gateway logs its counters
    # `dayuan gateway` / `dayuan rules run` serve /metrics and /healthz here (0: not at all).
    metrics_port: int = 0
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    @model_validator(mode="after")
    def _mqtt_endpoint(self) -> Settings:
        if self.mqtt_url is not None:
            self.endpoint_for(self.mqtt_url)  # InvalidEndpoint is a ValueError: refused here
        elif self.mqtt_tls_ca is not None:
            raise ValueError(
                "DAYUAN_MQTT_TLS_CA is set but DAYUAN_MQTT_URL is not mqtts://: TLS is chosen "
                "by the URL's scheme"
            )
        return self

    @field_validator("mqtt_protocol", mode="before")
    @classmethod
    def _protocol_number(cls, value: object) -> object:
        # The environment gives text ("4"), and a Literal of ints does not coerce it.
        return int(value) if isinstance(value, str) and value.strip().isdigit() else value

    @model_validator(mode="after")
    def _api_access(self) -> Settings:
        if not 0 < self.token_ttl_s <= MAX_TOKEN_TTL_S:
            raise ValueError(
                f"DAYUAN_TOKEN_TTL_S is {self.token_ttl_s}: it must be between 1 and"
                f" {MAX_TOKEN_TTL_S} s ({MAX_TOKEN_TTL_S // 3600} hours)"
            )
        for entry in (e.strip() for e in self.trusted_proxies.split(",")):
            try:
                if entry:
                    ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"DAYUAN_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR network"
                ) from None
        return self

    def mqtt_as(self, role: BackendRole) -> MqttEndpoint | None:
        """DAYUAN_MQTT_URL as the backend account of `role`; None: an embedded broker."""
        return None if self.mqtt_url is None else self.endpoint_for(self.mqtt_url, role)

    def endpoint_for(self, url: str, role: BackendRole = BackendRole.GATEWAY) -> MqttEndpoint:
        """The broker at `url` with this deployment's protocol, CA and the backend account
        of `role` (credentials in the URL win: a broker with one backend account)."""
        account = backend_account(role, self.backend_password.get_secret_value())
        return MqttEndpoint.parse(
            url,
            username=account.username,
            password=account.password,
            protocol=self.mqtt_protocol,
            tls_ca=str(self.mqtt_tls_ca) if self.mqtt_tls_ca else None,
        )

    @model_validator(mode="after")
    def _safe_in_production(self) -> Settings:
        if self.env != "production":
            return self
        problems = []
        defaults = (DEV_DEVICE_SECRET, DEV_BACKEND_PASSWORD)
        machine = {
            "DAYUAN_DEVICE_SECRET": self.device_secret,
            "DAYUAN_BACKEND_PASSWORD": self.backend_password,
            "DAYUAN_TOKEN_SECRET": self.token_secret,
            "DAYUAN_METRICS_TOKEN": self.metrics_token,
        }
        values = {n: s.get_secret_value() for n, s in machine.items() if s is not None}
        endpoint = self.mqtt_as(BackendRole.GATEWAY)
        if endpoint is not None and self.mqtt_url and "@" in self.mqtt_url:
            values["the password in DAYUAN_MQTT_URL"] = endpoint.password or ""
        for name, value in values.items():
            why = weakness(value, min_bits=MACHINE_SECRET_BITS, forbidden=defaults)
            if why:
                problems.append(f"{name} {why}")
        if self.admin_password is not None:
            admin = self.admin_password.get_secret_value()
            why = weakness(admin, min_bits=ADMIN_PASSWORD_BITS, forbidden=defaults)
            if why is None and len(admin) < ADMIN_PASSWORD_MIN_LENGTH:
                why = f"is shorter than {ADMIN_PASSWORD_MIN_LENGTH} characters"
            if why:
                problems.append(f"DAYUAN_ADMIN_PASSWORD {why}")
        if self.database_url is None:
            problems.append("DAYUAN_DATABASE_URL is not set (no embedded database in production)")
        if self.mqtt_url is None:
            problems.append("DAYUAN_MQTT_URL is not set (no embedded broker in production)")
        if self.admin_password is None:
            problems.append("DAYUAN_ADMIN_PASSWORD is not set (the first administrator)")
        if self.token_secret is None:
            problems.append("DAYUAN_TOKEN_SECRET is not set (tokens must survive a restart)")
        if problems:
            raise ValueError(
                "refusing to start in production: "
                + "; ".join(problems)
                + " (generate secrets with: python -c 'import secrets;"
                " print(secrets.token_urlsafe(32))')"
            )
        return self


def public_url(settings: Settings) -> str:
    """DAYUAN_PUBLIC_URL, or the API's own address."""
    return settings.public_url or f"http://{settings.api_host}:{settings.api_port}"


def compound_list(settings: Settings) -> tuple[str, ...]:
    return tuple(c.strip() for c in settings.compounds.split(",") if c.strip())
