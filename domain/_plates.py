"""Vehicle number plates: the one normal form and the one check, shared by the registry
(residents' and visitors' plates), the rules (which plates are known) and parking
(pairing a barrier's reads).

A mainland plate is a province character, the issuing office's letter and five
characters (blue, yellow: `京A12345`, the last may be 挂/学/警/港/澳), or six for the green
new-energy plates (`沪AD12345`, small cars: D or F third; `粤B12345D`, large: D or F
last). Letters I and O are never issued. `normalize_plate` makes what a person types or
a camera reads comparable (width, case, the dot and spaces between office and number);
`parse_plate` refuses what is no plate, with the reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from domain._errors import InvalidPlate

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"  # no I, no O
_SERIAL = f"[{_LETTER}0-9]"
_CLASSIC = re.compile(f"^[{PROVINCES}][{_LETTER}]{_SERIAL}{{4}}(?:{_SERIAL}|[挂学警港澳])$")
_NEW_ENERGY = re.compile(f"^[{PROVINCES}][{_LETTER}](?:[DF]{_SERIAL}{{5}}|[0-9]{{5}}[DF])$")
_SEPARATORS = re.compile(r"[\s·•.\-]")
MAX_PLATE_INPUT = 32  # a plate is 7 or 8 characters; anything far longer is not one


def normalize_plate(raw: str) -> str:
    """The comparable form: full-width folded, upper case, separators dropped."""
    text = unicodedata.normalize("NFKC", raw[: MAX_PLATE_INPUT * 2])
    return _SEPARATORS.sub("", text).upper()


def parse_plate(raw: str) -> str:
    """A valid plate in normal form, or `InvalidPlate` saying what is wrong."""
    shown = raw[:MAX_PLATE_INPUT]
    if len(raw) > MAX_PLATE_INPUT:
        raise InvalidPlate(shown, f"longer than {MAX_PLATE_INPUT} characters")
    plate = normalize_plate(raw)
    if not plate:
        raise InvalidPlate(shown, "empty")
    if plate[0] not in PROVINCES:
        raise InvalidPlate(shown, "must begin with a province character such as 京, 沪 or 浙")
    if len(plate) not in (7, 8):
        raise InvalidPlate(shown, f"has {len(plate)} characters; a plate has 7 (8 new-energy)")
    if "I" in plate or "O" in plate:
        raise InvalidPlate(shown, "the letters I and O are never issued")
    if not (_CLASSIC if len(plate) == 7 else _NEW_ENERGY).match(plate):
        form = (
            "office letter and 5 letters or digits"
            if len(plate) == 7
            else ("office letter, then D or F and 5 letters or digits, or 5 digits and D or F")
        )
        raise InvalidPlate(shown, f"expected province, {form}")
    return plate


Window = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class KnownPlates:
    """The plates a compound knows: its residents' (always) and its pre-registered
    visitors' (during their windows), keyed by (compound, normal-form plate)."""

    residents: frozenset[tuple[str, str]] = frozenset()
    visitors: Mapping[tuple[str, str], tuple[Window, ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        residents: Iterable[tuple[str, str]],
        visitors: Iterable[tuple[str, str, datetime, datetime]] = (),
    ) -> KnownPlates:
        windows: dict[tuple[str, str], list[Window]] = {}
        for compound, plate, start, end in visitors:
            windows.setdefault((compound, normalize_plate(plate)), []).append((start, end))
        return cls(
            frozenset((c, normalize_plate(p)) for c, p in residents),
            {k: tuple(sorted(v)) for k, v in windows.items()},
        )

    def resident(self, compound: str, plate: str) -> bool:
        return (compound, normalize_plate(plate)) in self.residents

    def visitor(self, compound: str, plate: str, at: datetime) -> bool:
        windows = self.visitors.get((compound, normalize_plate(plate)), ())
        return any(start <= at < end for start, end in windows)

    def known(self, compound: str, plate: str, at: datetime) -> bool:
        return self.resident(compound, plate) or self.visitor(compound, plate, at)
