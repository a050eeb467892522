"""The pieces on their own: what a channel shows of itself, the signature, the backoff
and the rate limit (a fake clock), and the Kannel request (a real HTTP receiver in the
place of Kannel's sendsms interface; test_kannel.py has Kannel itself with fakesmsc)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

import notify
from tests.notify.conftest import Receiver

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
MESSAGE = notify.Message("dayuan-7-abc", "[Dayuan] SOS", "Case 1: SOS", 1, 7, "s-care", {})


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mailto://user:pa55@smtp.example.org:587?to=a@b.c", "mailto://smtp.example.org"),
        ("json://127.0.0.1:8080/hook?+Token=secret", "json://127.0.0.1"),
        ("hmac+https://hotline.example.gov.cn/in?secret=k", "hmac+https://hotline.example.gov.cn"),
        ("kannel://u:p@localhost:13013/+8613800000000", "kannel://localhost"),
        ("tgram://123456789:AAbbCCddEE/987654", "tgram://…"),  # a bot token where a host goes
        ("pbul://o.gn5kj6nfhv736I7jC3cj3QLRiyhgl98b", "pbul://…"),
        (None, None),
    ],
)
def test_a_channel_shows_scheme_and_host_only(url: str | None, shown: str | None) -> None:
    assert notify.public_channel(url) == shown


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"case":1}'
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert notify.signature("k", "1700000000", body) == expected


def test_backoff_doubles_up_to_its_cap() -> None:
    waits = [notify.backoff(n) for n in range(1, notify.MAX_ATTEMPTS + 1)]
    assert waits[:3] == [notify.BACKOFF_BASE, notify.BACKOFF_BASE * 2, notify.BACKOFF_BASE * 4]
    assert max(waits) == notify.BACKOFF_CAP
    assert waits == sorted(waits)


def test_the_rate_limit_is_a_token_bucket_per_channel() -> None:
    #  burst 2 at 1/s:   t=0  x x | third waits 1 s  | other channel free
    rate = notify.RateLimit(per_s=1.0, burst=2)
    assert rate.take("json://a:80", T0) == timedelta()
    assert rate.take("json://a:80", T0) == timedelta()
    assert rate.take("json://a:80", T0) == timedelta(seconds=1)
    assert rate.take("json://b:80", T0) == timedelta()
    assert rate.take("json://a:80", T0 + timedelta(seconds=1)) == timedelta()


def test_kannel_sms_is_a_sendsms_get(receiver: Receiver) -> None:
    url = f"kannel://dayuan:pw@127.0.0.1:{receiver.port}/+8613800000000?from=12345"
    notify.Channels()(url, MESSAGE)
    (request,) = receiver.wait_for(1, "/cgi-bin/sendsms")
    query = parse_qs(urlsplit(request.path).query)
    assert {k: v[0] for k, v in query.items()} == {
        "username": "dayuan",
        "password": "pw",
        "to": "+8613800000000",
        "from": "12345",
        "charset": "UTF-8",
        "text": "[Dayuan] SOS",  # the subject: the body's details are for other channels
    }


def test_a_chinese_sms_goes_as_ucs2_with_its_link_kept_whole(receiver: Receiver) -> None:
    link = "https://dayuan.example.org/a/" + "A" * 30
    subject = "【大院】紧急 SOS求助" + "很长" * 100
    message = notify.Message("k", subject, "正文", 1, 7, "s-care", {"ack_url": link})
    notify.Channels()(f"kannel://u:p@127.0.0.1:{receiver.port}/1", message)
    (request,) = receiver.wait_for(1, "/cgi-bin/sendsms")
    query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
    assert query["coding"] == "2"  # UCS-2: Kannel would send '?' for each character
    assert query["text"].startswith("【大院】紧急 SOS求助")
    assert query["text"].endswith(" " + link)
    assert len(query["text"]) <= 3 * 67  # three concatenated UCS-2 parts at most


def test_a_refusing_kannel_is_a_permanent_failure_a_down_one_is_retried(
    receiver: Receiver,
) -> None:
    receiver.answer = lambda post: 403
    with pytest.raises(notify.DeliveryFailed) as refused:
        notify.Channels()(f"kannel://u:p@127.0.0.1:{receiver.port}/?to=1", MESSAGE)
    assert refused.value.permanent
    assert "403" in refused.value.reason
    receiver.answer = lambda post: 503
    with pytest.raises(notify.DeliveryFailed) as down:
        notify.Channels()(f"kannel://u:p@127.0.0.1:{receiver.port}/?to=1", MESSAGE)
    assert not down.value.permanent
