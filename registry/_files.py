"""Reading and writing compound files: YAML or JSON, chosen by the file's extension.

The format is `domain.CompoundFile` (`format: dayuan.compound/1`); this module only
moves it between disk and the validated model. YAML goes through libyaml when it
is there (a district's file is tens of megabytes), JSON through orjson.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pydantic
import yaml

import domain
from registry._errors import CompoundFileError

YAML_SUFFIXES = frozenset({".yaml", ".yml"})
JSON_SUFFIXES = frozenset({".json"})

_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def write_compound_file(path: Path, compounds: domain.CompoundFile) -> None:
    """Write `compounds` to `path` as YAML (.yaml/.yml) or JSON (.json)."""
    document = compounds.model_dump(mode="json", exclude_none=True)
    try:
        data = _encode(path, document)
        path.write_bytes(data)
    except OSError as exc:
        raise CompoundFileError(path, f"cannot write: {exc.strerror or exc}") from exc


def read_compound_file(path: Path) -> domain.CompoundFile:
    """Read and validate a compound file; every problem is a `CompoundFileError`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CompoundFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    document = _decode(path, data)
    try:
        return domain.CompoundFile.model_validate(document)
    except pydantic.ValidationError as exc:
        raise CompoundFileError(path, _describe(exc)) from exc


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in YAML_SUFFIXES | JSON_SUFFIXES:
        raise CompoundFileError(path, "the extension must be .yaml, .yml or .json")
    return suffix


def _encode(path: Path, document: dict[str, Any]) -> bytes:
    if _suffix(path) in JSON_SUFFIXES:
        return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    text = yaml.dump(
        document, Dumper=_YAML_DUMPER, sort_keys=False, allow_unicode=True, default_flow_style=None
    )
    return text.encode()


def _decode(path: Path, data: bytes) -> Any:
    try:
        if _suffix(path) in JSON_SUFFIXES:
            return orjson.loads(data)
        return yaml.load(data, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader, C or Python
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise CompoundFileError(path, f"not valid {path.suffix[1:].upper()}: {exc}") from exc


def _describe(exc: pydantic.ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    shown = [f"{'.'.join(str(x) for x in e['loc']) or '<root>'}: {e['msg']}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(shown) + more
