"""YAML files validated by pydantic models, with errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kuzet.i18n import t

Loc = tuple[str | int, ...]


class YamlFileError(Exception):
    """An invalid file: one message naming file, line and field. ``str()`` is it in
    English (for logs); :meth:`localized` in the user's language, when the reason has a
    message ``code`` (:mod:`kuzet.i18n`; ``values`` fill it in)."""

    def __init__(
        self,
        path: Path,
        line: int | None,
        field: str,
        message: str,
        *,
        code: str | None = None,
        **values: Any,
    ) -> None:
        self.path, self.line, self.field, self.message = path, line, field, message
        self.code, self.values = code, values
        super().__init__(self._with_place(message))

    def _with_place(self, reason: str) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.field}: {reason}" if self.field else f"{where}: {reason}"

    def localized(self, lang: str) -> str:
        if self.code is None:
            return str(self)
        return self._with_place(t(self.code, lang, **self.values))


class CodedValueError(ValueError):
    """A validator's error with a message code, so the file error can be localized."""

    def __init__(self, code: str, message: str, **values: Any) -> None:
        super().__init__(message)
        self.code, self.values = code, values


def parse(path: Path, error: type[YamlFileError] = YamlFileError) -> tuple[Any, dict[Loc, int]]:
    """YAML → Python data plus the 1-based line of every mapping key and list item."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            path, None, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})",
            code="file.not_utf8", byte=exc.start,
        ) from exc  # fmt: skip
    except OSError as exc:
        raise error(
            path, None, "", f"cannot read: {exc.strerror}", code="file.unreadable",
            error=exc.strerror,
        ) from exc  # fmt: skip
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise error(path, 1, "", "the file is empty", code="file.empty")
        lines: dict[Loc, int] = {}
        _index(path, node, (), lines, error)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context
        raise error(
            path, line, "", f"invalid YAML: {problem}", code="file.invalid_yaml", problem=problem
        ) from exc
    finally:
        loader.dispose()
    return data, lines


def _index(
    path: Path, node: yaml.Node, loc: Loc, lines: dict[Loc, int], error: type[YamlFileError]
) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                line = key_node.start_mark.line + 1
                raise error(
                    path, line, field_name((*loc, key)), "duplicate key", code="file.duplicate_key"
                )
            seen.add(key)
            _index(path, value_node, (*loc, key), lines, error)
            lines[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(path, item, (*loc, i), lines, error)


def field_name(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_for(loc: Loc, lines: dict[Loc, int]) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def raise_validation(
    path: Path,
    exc: ValidationError,
    lines: dict[Loc, int],
    error: type[YamlFileError] = YamlFileError,
) -> None:
    """Re-raise pydantic's first error as one file:line: field: message."""
    err = exc.errors()[0]
    # Tagged unions add their tag to the location ("§keywords"), and a bad mapping key
    # shows as (key, "[key]"); the file has neither.
    raw = list(err["loc"])
    if raw and raw[-1] == "[key]":
        raw = raw[:-2]
    loc: Loc = tuple(p for p in raw if isinstance(p, int) or (isinstance(p, str) and p[:1] != "§"))
    coded: dict[str, Any] = {}
    cause = err.get("ctx", {}).get("error")
    if err["type"] == "extra_forbidden":
        msg, coded = "unknown field", {"code": "file.unknown_field"}
    elif err["type"] == "missing":
        msg, coded = err["msg"], {"code": "file.missing_field"}
    elif isinstance(cause, CodedValueError):
        msg, coded = err["msg"], {"code": cause.code, **cause.values}
    else:
        msg = err["msg"]  # pydantic's own words (English)
    raise error(path, line_for(loc, lines), field_name(loc), msg, **coded) from exc
