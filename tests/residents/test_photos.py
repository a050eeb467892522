"""`residents.clean_photo` on its own: what is kept of a photo is its pixels, upright,
at most 1600 px, as a fresh JPEG; and the `case_photo` retention clock."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image

import notify
import residents
from domain import Language
from residents._words import outcome_text
from tests.notify.conftest import Receiver
from tests.residents.conftest import PHONE_A, Conn, gps_exif, jpeg


def test_metadata_is_gone_and_the_photo_is_upright_and_bounded() -> None:
    exif = gps_exif()
    exif[0x0112] = 6  # Orientation: the camera was turned; shown rotated 90 degrees
    raw = jpeg((4000, 3000), exif=exif)
    kept = residents.clean_photo(1, raw)
    img = Image.open(io.BytesIO(kept.data))
    assert (img.format, img.size, (kept.width, kept.height)) == ("JPEG", (1200, 1600), (1200, 1600))
    assert dict(img.getexif()) == {}
    assert not img.info.get("exif")
    assert "icc_profile" not in img.info
    assert b"SERIAL-12345" not in kept.data


def test_a_png_with_text_chunks_becomes_a_bare_jpeg() -> None:
    from PIL import PngImagePlugin

    meta = PngImagePlugin.PngInfo()
    meta.add_text("Comment", "taken at 3-2-301, lat 30.27")
    out = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 0, 255, 128)).save(out, format="PNG", pnginfo=meta)
    kept = residents.clean_photo(1, out.getvalue())
    assert kept.media_type == "image/jpeg"
    assert b"lat 30.27" not in kept.data
    assert Image.open(io.BytesIO(kept.data)).mode == "RGB"


@pytest.mark.parametrize("raw", [b"\xff\xd8\xff\xe0garbage", b"%PDF-1.4 not an image"])
def test_garbage_with_a_photo_signature_is_refused(raw: bytes) -> None:
    with pytest.raises(residents.PhotoRefused) as refused:
        residents.clean_photo(2, raw)
    assert refused.value.n == 2


def test_photos_are_purged_180_days_after_the_case_ends(
    client: httpx.Client,
    admin: dict[str, str],
    confirmed: Callable[[str, str], dict[str, str]],
    conn: Conn,
) -> None:
    me = confirmed(PHONE_A, "1-1-101")
    case_id = client.post(
        "/api/v1/residents/me/reports",
        data={"category": "repair", "description": "door", "where": "flat"},
        files=[("photos", ("d.jpg", jpeg(), "image/jpeg"))],
        headers=me,
    ).json()["id"]
    row = conn.execute("SELECT retention, purge_after FROM case_photos").fetchone()
    assert row == ("case_photo", None)  # kept while the case is open
    version = client.get(f"/api/v1/cases/{case_id}", headers=admin).json()["version"]
    cancelled = client.post(
        f"/api/v1/cases/{case_id}/cancel",
        json={"version": version, "reason": "not_responsible", "note": "the city's"},
        headers=admin,
    )
    assert cancelled.status_code == 200, cancelled.text
    purge = conn.execute("SELECT purge_after FROM case_photos").fetchone()
    ended = conn.execute(
        "SELECT at FROM case_events WHERE case_id = %s AND transition = 'cancelled'", (case_id,)
    ).fetchone()
    assert purge is not None
    assert ended is not None
    assert purge[0] == ended[0] + timedelta(days=180)
    assert residents.purge_photos(conn, ended[0] + timedelta(days=179)) == 0
    assert residents.purge_photos(conn, ended[0] + timedelta(days=180)) == 1
    gone = client.get(f"/api/v1/residents/me/cases/{case_id}/photos/1", headers=me)
    assert gone.status_code == 404


def test_a_code_and_an_outcome_by_sms_carry_what_matters(receiver: Receiver) -> None:
    """Through Kannel's sendsms (a recording HTTP server here): the SMS text is the
    message's subject, so the code and the outcome must be in it."""
    send = residents.ChannelSender(
        f"kannel://u:p@127.0.0.1:{receiver.port}/{{digits}}?from=Dayuan", notify.Channels()
    )
    text = residents.code_text("493817", 5, Language.ZH)
    send(PHONE_A, text, text, key="code-1")
    subject, body = outcome_text(7, "灯泡已更换", Language.ZH)
    send(PHONE_A, subject, body, key="outcome-1")
    code_sms, outcome_sms = (
        parse_qs(urlsplit(p.path).query) for p in receiver.wait_for(2, "/cgi-bin/sendsms")
    )
    assert code_sms["to"] == [PHONE_A.lstrip("+")]
    assert "493817" in code_sms["text"][0]
    assert "灯泡已更换" in outcome_sms["text"][0]
    assert outcome_sms["coding"] == ["2"]  # Chinese goes as UCS-2
