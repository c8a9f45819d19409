"""Tolerant, unknown-preserving access to manifest-shaped properties.

At run time pulumi_policy hands policies a proxy made of ``Mapping``/``Sequence`` objects that raises
``UnknownValueError`` when an unknown (preview-time) value is read. These helpers never catch that
error: an unknown propagates to the adapter, which reports it instead of letting the policy pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

EMPTY: Mapping[str, Any] = {}


def mapping(value: Any) -> Mapping[str, Any]:
    """The value if it is an object, else an empty object (absent fields behave like empty ones)."""
    return value if isinstance(value, Mapping) else EMPTY


def sequence(value: Any) -> Sequence[Any]:
    """The value if it is a list (strings are not lists), else an empty list."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return value
    return ()


def field(obj: Any, *path: str) -> Any:
    """The value at ``path`` under ``obj``, or None when any step is missing or not an object."""
    current: Any = obj
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def mappings(value: Any) -> Iterator[Mapping[str, Any]]:
    """The object items of a list, skipping anything that is not an object."""
    for item in sequence(value):
        if isinstance(item, Mapping):
            yield item


def strings(value: Any) -> list[str]:
    """The string items of a list."""
    return [item for item in sequence(value) if isinstance(item, str)]


def one_of(value: Any, allowed: frozenset[str]) -> bool:
    """Whether the value is one of the allowed strings (a value of any other type is not)."""
    return isinstance(value, str) and value in allowed


def number(value: Any) -> float | None:
    """A JSON number as float (properties arrive through protobuf Structs, so 2 arrives as 2.0)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def show(value: Any) -> str:
    """A value for messages, printing 2.0 as 2."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_true(value: Any) -> bool:
    return value is True


def is_false(value: Any) -> bool:
    return value is False


def quoted(items: Sequence[str]) -> str:
    """PSA-style quoting of a list of names, in the order given: "a", "b"."""
    return ", ".join(f'"{item}"' for item in items)
