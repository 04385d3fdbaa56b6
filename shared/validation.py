"""Request-body validation without a web framework: a JSON object checked against a small field spec.

Unknown fields, wrong types, out-of-range values and non-objects all raise :class:`ValidationError` naming the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from shared.errors import ValidationError


@dataclass(frozen=True)
class Field:
    """One accepted field: its type(s), whether it is required, and optional limits."""

    kind: type | tuple[type, ...]
    required: bool = False
    choices: tuple | None = None
    pattern: str | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None


def parse_json_object(body: bytes, mimetype: str | None) -> dict:
    """Decode a request body that must be a JSON object (an empty body is an empty object)."""
    if not body.strip():
        return {}
    if mimetype != "application/json":
        raise ValidationError("send the body as JSON (Content-Type: application/json)", code="unsupported_media_type")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("the body is not valid JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ValidationError("the body must be a JSON object", code="invalid_json")
    return data


def validate(data: dict, spec: dict[str, Field]) -> dict[str, Any]:
    """Check ``data`` against ``spec``; return it with absent optional fields omitted."""
    unknown = sorted(set(data) - set(spec))
    if unknown:
        raise ValidationError(f"unknown field '{unknown[0]}'", code="unknown_field", field=unknown[0])
    for name, f in spec.items():
        if name not in data or data[name] is None:
            if f.required:
                raise ValidationError(f"'{name}' is required", code="missing_field", field=name)
            data.pop(name, None)
            continue
        value = data[name]
        kinds = f.kind if isinstance(f.kind, tuple) else (f.kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            raise ValidationError(f"'{name}' has the wrong type", code="wrong_type", field=name)
        if f.choices is not None and value not in f.choices:
            raise ValidationError(f"'{name}' must be one of: {', '.join(map(str, f.choices))}", code="invalid_value", field=name)
        if isinstance(value, str):
            if f.max_length is not None and len(value) > f.max_length:
                raise ValidationError(f"'{name}' is longer than {f.max_length} characters", code="invalid_value", field=name)
            if f.pattern is not None and not re.fullmatch(f.pattern, value):
                raise ValidationError(f"'{name}' is not in the expected form", code="invalid_value", field=name)
        if isinstance(value, int) and not isinstance(value, bool):
            if (f.minimum is not None and value < f.minimum) or (f.maximum is not None and value > f.maximum):
                raise ValidationError(f"'{name}' is out of range", code="invalid_value", field=name)
    return data
