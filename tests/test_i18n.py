from __future__ import annotations

import re
from pathlib import Path

from kuzet.i18n import MESSAGES, localized, t

ROOT = Path(__file__).resolve().parent.parent


def test_every_message_has_kazakh_russian_and_english() -> None:
    for key, entry in MESSAGES.items():
        assert set(entry) == {"kk", "ru", "en"}, key
        assert all(v.strip() for v in entry.values()), key
        fields = {re.findall(r"{(\w+)}", v).__str__() for v in entry.values()}
        assert len(fields) == 1, f"{key}: placeholders differ between languages"


def test_every_key_used_in_templates_and_code_exists() -> None:
    used: set[str] = set()
    for path in (
        list((ROOT / "review" / "templates").glob("*.html"))
        + list(ROOT.glob("kuzet/*.py"))
        + list(ROOT.glob("review/*.py"))
    ):
        used |= set(
            re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""", path.read_text(encoding="utf-8"))
        )
    assert used, "no message keys found"
    prefixes = {k for k in used if k.endswith(".")}  # dynamic: "status." ~ value
    assert used - prefixes <= set(MESSAGES), used - prefixes - set(MESSAGES)
    for prefix in prefixes:
        assert any(k.startswith(prefix) for k in MESSAGES), prefix
    from kuzet.models import CaptureStatus, DetectionStatus, NoticeStatus

    for enum, prefix in (
        (DetectionStatus, "status."),
        (CaptureStatus, "capture."),
        (NoticeStatus, "notice.status."),
    ):
        for member in enum:
            assert prefix + member.value in MESSAGES, prefix + member.value


def test_t_and_localized() -> None:
    assert t("notices.built", "ru", n=2) == "Создано проектов: 2."
    assert localized({"kk": "а", "ru": "б"}, "ru") == "б"
    assert localized({"kk": "а", "ru": "б"}, "en") == "а"
    assert localized(None, "kk") == ""
