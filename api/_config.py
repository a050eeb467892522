"""What the API needs from the deployment, as one frozen value built by the entry point.

`dayuan api` (api/cli.py) turns the process's `Settings` into an `ApiConfig`; tests build
one directly. Nothing in the API reads the environment.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from broker import MqttEndpoint
from cases import REPORT_CATEGORIES

# The longest a token may live: a stolen token dies within a day whatever the deployment
# configured (DAYUAN_TOKEN_TTL_S is refused above it; dayuan.settings repeats the bound).
MAX_TOKEN_TTL_S = 24 * 3600
# A resident's token reaches only their own reports: a lost phone is signed out within
# 90 days whatever the deployment configured.
MAX_RESIDENT_TOKEN_TTL_S = 90 * 24 * 3600

# Open to city platforms by default: the shared-facility matters. Left out: disputes,
# elderly residents' needs (personal, often health) and security (the police's channel).
OPEN311_SERVICES = ("repair", "environment", "parking", "noise", "public_affairs")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated IPs or CIDRs, e.g. "10.0.0.5, 192.168.0.0/24"; ValueError names
    the entry that is neither."""
    out = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        try:
            out.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not an IP address or CIDR network") from exc
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ApiConfig:
    database_url: str
    mqtt: MqttEndpoint | None  # None: device commands are refused with 503
    # The case publisher's account (`broker.BackendRole.CASES`); None: case transitions
    # made through the API reach case_events only.
    case_mqtt: MqttEndpoint | None = None
    # The accounts role (`broker.BackendRole.ACCOUNTS`) and the device secret: devices
    # provisioned or retired through the API get or lose their broker account. None: the
    # broker's accounts are kept elsewhere, and the API says so.
    accounts_mqtt: MqttEndpoint | None = None
    device_secret: str | None = None
    env: Literal["development", "production"] = "development"
    # Signs tokens. None in development: a random key per start (tokens die with it).
    token_secret: str | None = None
    token_ttl_s: int = 8 * 3600
    admin_password: str | None = None  # the first administrator's, used once
    command_ack_timeout_s: float = 10.0
    silence_factor: float = 3.0
    # Open live feeds per user: a monitoring room's few screens, not a leak's thousands.
    streams_per_user: int = 5
    # An open feed learns within this that its account was disabled, deleted or changed
    # (one lookup for all subscribed users per app).
    stream_recheck_s: float = 5.0
    # Reverse proxies whose X-Forwarded-For is believed; empty: the header is ignored.
    trusted_proxies: tuple[Network, ...] = ()
    # The bearer token a Prometheus scrape of /metrics presents. None: /metrics is open in
    # development and closed in production.
    metrics_token: str | None = None
    # Where people reach this API: the notifications' links (`<public_url>/a/<token>`).
    public_url: str = "http://127.0.0.1:8000"
    # How long a notification's link answers (notify.LINK_TTL: a day).
    ack_link_ttl_s: int = 24 * 3600
    # The rule file the engine runs (None: the shipped catalogue): `GET /rules` serves its
    # titles in both languages, so that the dashboard names each alarm in the user's.
    rules_file: Path | None = None
    # The report categories Open311 clients may submit (service_code), a subset of
    # cases.REPORT_CATEGORIES (DAYUAN_OPEN311_SERVICES).
    open311_services: tuple[str, ...] = OPEN311_SERVICES
    # How often the lifespan sends the announcements whose window opened (0: never, as
    # when another process does it); announce.POLL_S.
    announce_poll_s: float = 30.0
    # How often the lifespan pairs new plate reads into parking stays (0: never here).
    parking_sweep_s: float = 60.0
    # How often the lifespan runs the care sweep (0: never, as when `dayuan care sweep`
    # runs elsewhere); care.SWEEP_S.
    care_sweep_s: float = 60.0
    # Keys the signed webhooks among households' contacts (DAYUAN_NOTIFY_WEBHOOK_SECRET).
    webhook_secret: str | None = None
    # Where residents' codes and outcomes go: a contact URL template with {phone} (E.164)
    # or {digits}, e.g. kannel://u:p@sms:13013/{digits}?from=Dayuan; log:// writes them to
    # the log in development, and in production leaves residents unable to sign in (503).
    resident_channel: str = "log://"

    @property
    def resident_channel_ready(self) -> bool:
        """Whether residents can be reached: never through the log in production."""
        return self.env != "production" or not self.resident_channel.startswith("log://")

    # A resident stays signed in on their phone this long (an elder should not have to
    # sign in every week); signing out advances their token epoch.
    resident_token_ttl_s: int = 30 * 24 * 3600
    # How often the API sends residents the outcomes of their reports and purges photos.
    resident_outcome_poll_s: float = 10.0

    def __post_init__(self) -> None:
        unknown = set(self.open311_services) - set(REPORT_CATEGORIES)
        if unknown:
            raise ValueError(
                f"Open311 services must be report categories ({', '.join(REPORT_CATEGORIES)});"
                f" not: {', '.join(sorted(unknown))}"
            )
        if self.streams_per_user < 1:
            raise ValueError("streams_per_user must be at least 1")
        if not 0 < self.resident_token_ttl_s <= MAX_RESIDENT_TOKEN_TTL_S:
            raise ValueError(
                f"the resident token lifetime must be between 1 and {MAX_RESIDENT_TOKEN_TTL_S} s"
            )
        if not 0 < self.token_ttl_s <= MAX_TOKEN_TTL_S:
            raise ValueError(
                f"the token lifetime must be between 1 and {MAX_TOKEN_TTL_S} s"
                f" (got {self.token_ttl_s})"
            )
        if self.env == "production":
            if not self.admin_password:
                raise ValueError("refusing to start in production without DAYUAN_ADMIN_PASSWORD")
            if not self.token_secret:
                raise ValueError("refusing to start in production without DAYUAN_TOKEN_SECRET")

    def signing_key(self) -> str:
        return self.token_secret or secrets.token_urlsafe(48)
