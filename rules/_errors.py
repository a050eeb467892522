"""The rules package's exceptions, one tree, each carrying the data an operator needs.

RulesError
├── RuleFileError        a rule file cannot be read or parsed (path, problems)
│   └── RuleDefinitionError   one rule is invalid (rule id, field, reason)
├── RegistryUnavailable  the registry could not be loaded from the database
└── AlarmStoreError      the alarm or state store failed (database translated here)
"""

from __future__ import annotations


class RulesError(Exception):
    """Base of every error raised by `rules`."""


class RuleFileError(RulesError):
    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


class RuleDefinitionError(RuleFileError):
    def __init__(self, path: str, rule: str, field: str, reason: str) -> None:
        self.rule = rule
        self.field = field
        self.reason = reason
        super().__init__(path, [f"rule {rule!r}, field {field!r}: {reason}"])


class RegistryUnavailable(RulesError):
    pass


class AlarmStoreError(RulesError):
    pass
