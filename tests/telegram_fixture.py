"""Render channel preview pages in the markup of https://t.me/s/<channel>."""

from __future__ import annotations

from html import escape
from pathlib import Path

DATA = Path(__file__).resolve().parent / "sample_data" / "telegram"
POST = (DATA / "post.html.tmpl").read_text(encoding="utf-8")
PAGE = (DATA / "page.html.tmpl").read_text(encoding="utf-8")


def render(channel: str, posts: list[dict]) -> bytes:
    """posts: dicts with id, text, views, and optionally edited, photo, date."""
    rendered = []
    for p in sorted(posts, key=lambda p: p["id"]):
        photo = (
            f'<a class="tgme_widget_message_photo_wrap" href="https://t.me/{channel}/{p["id"]}" '
            f"style=\"width:800px;background-image:url('{p['photo']}')\"></a>"
            if p.get("photo")
            else ""
        )
        rendered.append(
            POST.format(
                channel=channel,
                id=p["id"],
                text=p["text"],
                views=escape(p.get("views", "1.2K")),
                edited='<span class="tgme_widget_message_edited">edited</span> '
                if p.get("edited")
                else "",
                date=p.get("date", f"2026-11-{10 + p['id'] % 10:02d}T08:00:00+00:00"),
                time="08:00",
                photo=photo,
            )
        )
    low = min((p["id"] for p in posts), default=0)
    more = (
        (
            f'<div class="tme_messages_more js-messages_more" data-before="{low}">'
            f'<a href="/s/{channel}?before={low}">Load more</a></div>'
        )
        if low > 1
        else ""
    )
    return PAGE.format(channel=channel, posts="".join(rendered), more=more).encode()
