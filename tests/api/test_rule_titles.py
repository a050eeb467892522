"""`GET /rules`: the dashboard names alarms by the catalogue's titles in English and
Chinese; a tuned rule file without Chinese titles shows its English ones; an unreadable
rule file is a 503 with the reason."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

import rules
from api import create_app
from tests.api.conftest import ADMIN_PASSWORD, bearer, config_for, login, serve
from tests.fix_mqtt import Broker

V1 = "/api/v1"


def test_every_shipped_rule_has_a_chinese_title(
    client: httpx.Client, admin: dict[str, str]
) -> None:
    answer = client.get(f"{V1}/rules", headers=admin)
    assert answer.status_code == 200
    titles = {r["id"]: r["title"] for r in answer.json()["data"]}
    shipped = rules.load_rules().rules
    assert set(titles) == {r.id for r in shipped} | {"elderly_care"}
    for rule in shipped:
        assert titles[rule.id]["en"] == rule.title
        assert titles[rule.id]["zh"] != rule.title, f"{rule.id} has no Chinese title"
    assert titles["sos"]["zh"] == "SOS紧急呼叫"
    assert client.get(f"{V1}/rules").status_code == 401


def test_vital_sign_rules_are_named_only_to_the_roles_reading_health(
    client: httpx.Client, headers: dict[str, dict[str, str]]
) -> None:
    vital = {"heart_rate_out_of_range", "spo2_low"}
    for role, h in headers.items():
        listed = {r["id"] for r in client.get(f"{V1}/rules", headers=h).json()["data"]}
        reads_health = role in {"admin", "care_responder"}
        assert (vital <= listed) is reads_health, role
        assert {"sos", "fall", "low_battery", "elderly_care", "tailgating"} <= listed, role


def test_a_rule_file_without_chinese_titles_shows_english_ones(
    api_db: str, broker: Broker, tmp_path: Path
) -> None:
    tuned = tmp_path / "rules.yaml"
    shipped = rules.catalogue_path().read_text(encoding="utf-8")
    tuned.write_text(
        "\n".join(line for line in shipped.splitlines() if "title_zh:" not in line),
        encoding="utf-8",
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [", encoding="utf-8")
    for path, expect in ((tuned, 200), (broken, 503)):
        app: FastAPI = create_app(config_for(api_db, broker, rules_file=path))
        with serve(app) as url, httpx.Client(base_url=url, timeout=10) as c:
            answer = c.get(f"{V1}/rules", headers=bearer(login(c, "admin", ADMIN_PASSWORD)))
            assert answer.status_code == expect, answer.text
            if expect == 200:
                sos = next(r for r in answer.json()["data"] if r["id"] == "sos")
                assert sos["title"] == {"en": "SOS button pressed", "zh": "SOS button pressed"}
            else:
                assert "rule file cannot be read" in answer.json()["detail"]
