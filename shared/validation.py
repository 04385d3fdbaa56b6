"""Request-body validation without a web framework: a JSON object checked against a small field spec.

Unknown fields, wrong types, out-of-range values and non-objects all raise :class:`ValidationError` naming the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from shared.errors import ValidationError

#: How deep a request body may nest (no route takes more than a list inside the object); deeper is refused before
#: anything walks it, so a body of 8,000 nested lists is a 400, not a RecursionError.
MAX_DEPTH = 8


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
    if _nesting(body) > MAX_DEPTH:
        raise ValidationError(f"the body nests deeper than {MAX_DEPTH} levels", code="invalid_json")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValidationError("the body is not valid JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ValidationError("the body must be a JSON object", code="invalid_json")
    _check_text(data)
    return data


def is_text(value: str) -> bool:
    """Can ``value`` be stored and sent as UTF-8? (False for a lone surrogate such as ``"\\ud800"``, which JSON can
    express and Python decodes, but which no UTF-8 encoder accepts.)"""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _nesting(body: bytes) -> int:
    """The deepest ``[``/``{`` nesting of a JSON text, counted without parsing (brackets inside strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _check_text(data: Any) -> None:
    """Every key and string in the decoded body must be valid Unicode text (no lone surrogates)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if not is_text(key):
                    raise ValidationError("a field name is not valid text", code="invalid_value")
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and not is_text(item):
            raise ValidationError("a value is not valid text (a lone surrogate)", code="invalid_value")


def check_text(value: str, name: str) -> str:
    """``value`` if it is valid text (a path segment, a query argument), else a 400 naming ``name``."""
    if not is_text(value):
        raise ValidationError(f"'{name}' is not valid text", code="invalid_value", field=name)
    return value


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
