"""Kubernetes resource quantities ("250m", "512Mi", "1.5", "10Gi"), parsed and formatted."""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal

# The grammar of k8s.io/apimachinery/pkg/api/resource: a signed decimal number
# followed by an optional binary suffix, decimal suffix or decimal exponent.
_QUANTITY = re.compile(r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$")

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}

QUANTITY_HELP = 'a Kubernetes quantity such as "250m", "1", "512Mi" or "10Gi"'


def parse_quantity(text: str) -> Decimal:
    """The value of a quantity in base units (cores, bytes); ValueError if malformed."""
    match = _QUANTITY.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not {QUANTITY_HELP}")
    number = Decimal(match["number"])
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    return number * Decimal(10) ** int(suffix[1:])


def format_cpu(cores: Decimal) -> str:
    """Whole millicores, rounded up so a derived request is never zero."""
    millis = (cores * 1000).to_integral_value(rounding=ROUND_CEILING)
    return f"{millis}m"


def format_memory(size: Decimal) -> str:
    """Whole mebibytes, rounded up."""
    mebibytes = (size / _BINARY["Mi"]).to_integral_value(rounding=ROUND_CEILING)
    return f"{mebibytes}Mi"
