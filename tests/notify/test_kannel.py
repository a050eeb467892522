"""SMS through a real Kannel: a bearerbox and an smsbox of the test's own (generated
kannel.conf, free ports, a spool in tmp_path) with a `smsc = fake` connection, and
Kannel's `fakesmsc` as the phone side printing what it receives. An SOS is notified to
the care responder's `kannel://` contact and the text arrives at the phone, with its
acknowledgement link, in Chinese (UCS-2, reassembled from its concatenated parts).

    notifier --GET /cgi-bin/sendsms--> smsbox --> bearerbox --fake SMSC--> fakesmsc
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_plus, unquote_to_bytes

import pytest

import cases
import notify
from tests.cases.conftest import sos
from tests.notify.conftest import WAIT_S, Conn, free_port

pytestmark = pytest.mark.usefixtures("schema_url")

BEARERBOX = shutil.which("bearerbox") or "/usr/sbin/bearerbox"
SMSBOX = shutil.which("smsbox") or "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"  # Debian's kannel-extras package
PHONE = "+8613800000000"
SENDER = "12345"
LINK_SECRET = "test-link-secret"

CONF = """\
group = core
admin-port = {admin}
admin-password = {password}
status-password = {password}
admin-allow-ip = "127.0.0.1"
smsbox-port = {boxes}
box-allow-ip = "127.0.0.1"
log-file = "{dir}/bearerbox.log"
log-level = 1
store-type = spool
store-location = "{dir}/spool"

group = smsc
smsc = fake
smsc-id = phone
port = {smsc}
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {boxes}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = "{dir}/smsbox.log"
log-level = 1

group = sendsms-user
username = dayuan
password = {password}
concatenation = true
max-messages = 3
"""


@dataclass
class Kannel:
    """The running gateway: its sendsms port, and the phone's (fakesmsc's) output."""

    sendsms_port: int
    password: str
    phone_log: Path

    def url(self) -> str:
        return (
            f"kannel://dayuan:{self.password}@127.0.0.1:{self.sendsms_port}/{PHONE}?from={SENDER}"
        )

    def received(self) -> list[str]:
        """The texts the phone has, concatenated parts joined (UCS-2 decoded)."""
        return phone_texts(self.phone_log.read_text(errors="replace"))

    def wait_for(self, done: Callable[[list[str]], bool]) -> list[str]:
        give_up = time.monotonic() + WAIT_S
        while time.monotonic() < give_up:
            if done(texts := self.received()):
                return texts
            time.sleep(0.1)
        raise AssertionError(self.phone_log.read_text(errors="replace")[-4000:])


# fakesmsc prints each MT message as `Got message N: <from to type [udh] data>`; a
# concatenated part is `udh <UDH> data <bytes>`, both URL-encoded.
_GOT = re.compile(r"Got message \d+: <(\S+) (\S+) (text|ucs-2|udh) (.*?)>$", re.M | re.S)


def phone_texts(log: str) -> list[str]:
    texts: list[str] = []
    parts: dict[int, dict[int, bytes]] = {}
    for _src, _dst, kind, rest in _GOT.findall(log):
        if kind == "text":  # printed URL-encoded when it has a line break (never a space)
            texts.append(rest if " " in rest else unquote_plus(rest))
        elif kind == "ucs-2":
            texts.append(_bytes(rest).decode("utf-16-be"))
        else:
            udh, _data, payload = rest.split(" ", 2)
            head = _bytes(udh)  # 05 00 03 <ref> <total> <seq>
            ref, total, seq = head[3], head[4], head[5]
            parts.setdefault(ref, {})[seq] = _bytes(payload)
            if len(parts[ref]) == total:
                got = parts.pop(ref)
                texts.append(_decode(b"".join(got[i] for i in range(1, total + 1))))
    return texts


def _bytes(encoded: str) -> bytes:
    return unquote_to_bytes(encoded.replace("+", "%20"))  # Kannel's encoding: '+' is a space


def _decode(data: bytes) -> str:
    # A part does not say its coding here: UCS-2 of our texts always has NUL high bytes
    # (ASCII digits, spaces, the link), the fake SMSC's 8-bit text never does.
    return data.decode("utf-16-be") if b"\x00" in data else data.decode("latin-1")


def _status(admin: int, password: str) -> str:
    url = f"http://127.0.0.1:{admin}/status.txt?password={password}"
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return str(reply.read().decode())
    except (urllib.error.URLError, OSError):
        return ""


def _ready(admin: int, password: str) -> bool:
    status = _status(admin, password)  # bearerbox's status page lists both connections
    return re.search(r"FAKE:\d+ \(online", status) is not None and "smsbox:" in status


def _wait(what: str, done: Callable[[], bool], logs: Path) -> None:
    give_up = time.monotonic() + WAIT_S
    while time.monotonic() < give_up:
        if done():
            return
        time.sleep(0.1)
    found = "\n".join(p.read_text(errors="replace")[-2000:] for p in logs.glob("*.log"))
    raise AssertionError(f"Kannel: {what} did not happen\n{found}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def kannel(tmp_path: Path) -> Iterator[Kannel]:
    missing = [b for b in (BEARERBOX, SMSBOX, FAKESMSC) if not Path(b).is_file()]
    if missing:
        pytest.skip(
            "Kannel is not installed (apt-get install kannel kannel-extras):"
            f" no {', '.join(missing)}"
        )
    ports = {"admin": free_port(), "boxes": free_port(), "smsc": free_port()}
    ports["sendsms"] = free_port()
    password = "test-kannel-pw"
    conf = tmp_path / "kannel.conf"
    conf.write_text(CONF.format(dir=tmp_path, password=password, **ports))
    (tmp_path / "spool").mkdir()
    phone_log = tmp_path / "fakesmsc.out"
    started: list[subprocess.Popen[bytes]] = []

    def start(*argv: str, out: Path) -> None:
        with out.open("wb") as sink:
            started.append(
                subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, cwd=tmp_path)
            )

    try:
        start(BEARERBOX, "-v", "1", str(conf), out=tmp_path / "bearerbox.out.log")
        _wait("bearerbox up", lambda: "FAKE:" in _status(ports["admin"], password), tmp_path)
        # -m 0: the phone sends nothing, it only prints what it receives.
        start(
            FAKESMSC,
            "-H",
            "127.0.0.1",
            "-r",
            str(ports["smsc"]),
            "-m",
            "0",
            "1 2 text x",
            out=phone_log,
        )
        start(SMSBOX, "-v", "1", str(conf), out=tmp_path / "smsbox.out.log")
        _wait("the phone and smsbox connected", lambda: _ready(ports["admin"], password), tmp_path)
        yield Kannel(ports["sendsms"], password, phone_log)
    finally:
        for process in reversed(started):  # smsbox, the phone, then bearerbox
            _stop(process)


def test_an_sos_reaches_the_phone_through_kannel_in_chinese_with_its_link(
    conn: Conn,
    workflow: cases.Workflow,
    kannel: Kannel,
    load_contacts: Callable[[dict[str, list[str]]], None],
    run_notifiers: Callable[..., object],
) -> None:
    load_contacts({"s-care": [kannel.url()]})
    case = workflow.intake_alarm(conn, sos()).case
    run_notifiers(links=notify.Links("https://dayuan.example.org", LINK_SECRET))

    (text,) = kannel.wait_for(lambda texts: len(texts) >= 1)
    assert text.startswith(f"【大院】紧急 SOS求助 {case.flat} 案件{case.id} 已派给您 ")
    link = re.search(r"https://dayuan\.example\.org/a/[A-Za-z0-9_-]+", text)
    assert link is not None, text
    (sms,) = [n for n in notify.notifications_for_case(conn, case.id) if n.recipient == "s-care"]
    assert sms.state is notify.DeliveryState.SENT
    assert sms.channel == "kannel://127.0.0.1"
