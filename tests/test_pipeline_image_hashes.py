"""Image hashes: which images a page has, their pHash, and rules that look for known ones."""

from __future__ import annotations

import io
import shutil
from dataclasses import replace
from pathlib import Path

import imagehash
import pytest
from PIL import Image, ImageDraw
from scrapy.exceptions import NotConfigured
from sqlalchemy import select

from crawler.pipelines.image_hashes import ImageHashPipeline, image_sources, phash_of
from crawler.runner import run_crawl
from kuzet.models import Detection, Page, Source
from tests.crawl_helpers import make_crawler, page_item
from tests.webserver import WebServer, html


def banner(width: int = 480, height: int = 120, *, fmt: str = "PNG", seed: int = 0) -> bytes:
    """A gambling-ad-like banner: coloured panels, stripes and a 'button'."""
    img = Image.new("RGB", (480, 120), (20, 20, 60) if seed == 0 else (230, 230, 210))
    draw = ImageDraw.Draw(img)
    if seed == 0:
        draw.rectangle((0, 0, 160, 120), fill=(200, 30, 30))
        for x in range(170, 330, 20):
            draw.rectangle((x, 10, x + 8, 110), fill=(240, 200, 40))
        draw.ellipse((350, 20, 460, 100), fill=(30, 180, 60))
    else:
        draw.rectangle((300, 0, 480, 60), fill=(10, 90, 160))
        draw.line((0, 120, 300, 0), fill=(120, 20, 20), width=14)
    img = img.resize((width, height))
    out = io.BytesIO()
    img.save(out, fmt, **({"quality": 70} if fmt == "JPEG" else {}))
    return out.getvalue()


def image(data: bytes, ctype: str = "image/png"):
    return lambda path, h: (200, {"Content-Type": ctype}, data)


def test_image_sources_are_absolute_unique_and_limited() -> None:
    body = (
        '<meta property="og:image" content="/og.jpg">'
        '<img src="a.png"><img data-src="/lazy.webp"><img src="a.png">'
        '<img src="data:image/png;base64,AAAA"><img src="https://cdn.example/b.gif">'
    )
    item = page_item(1, 1, "http://site.kz/news/1.html", body)
    item.meta["image_urls"] = ["https://t.me/photo.jpg"]
    assert image_sources(item, 10) == [
        "https://t.me/photo.jpg",
        "http://site.kz/og.jpg",
        "http://site.kz/news/a.png",
        "http://site.kz/lazy.webp",
        "https://cdn.example/b.gif",
    ]
    assert len(image_sources(item, 2)) == 2


def test_phash_survives_resizing_and_recompression() -> None:
    original = phash_of(banner())
    again = phash_of(banner(300, 75, fmt="JPEG"))
    other = phash_of(banner(seed=1))
    distance = imagehash.hex_to_hash(original) - imagehash.hex_to_hash(again)
    assert len(original) == 16 and distance <= 6
    assert imagehash.hex_to_hash(original) - imagehash.hex_to_hash(other) > 16
    with pytest.raises(Exception, match="cannot identify image"):
        phash_of(b"<html>not an image</html>")


def test_pipeline_is_off_unless_a_rule_looks_at_images(settings) -> None:
    # The starter packs have no image condition: a crawl fetches no images.
    with pytest.raises(NotConfigured):
        ImageHashPipeline.from_crawler(make_crawler(settings))
    assert ImageHashPipeline.from_crawler(make_crawler(settings, KUZET_IMAGE_HASHES="on"))
    with pytest.raises(NotConfigured):
        ImageHashPipeline.from_crawler(make_crawler(settings, KUZET_IMAGE_HASHES="off"))


def _banner_pack(rules_dir: Path, known: str) -> None:
    (rules_dir / "banners.yaml").write_text(
        f"""pack: banners
defaults:
  author: test
  created: 2026-11-22
  violation_type: online_gambling
  legal_norm: {{kk: "norm", ru: "норма"}}
  severity: high
rules:
  - id: banners.known-casino
    version: 1
    title: {{kk: Белгілі казино баннері, ru: Известный баннер казино}}
    match:
      image_phash: ["{known}"]
      max_distance: 10
    tests:
      match:
        - images: ["{known}"]
      no_match:
        - "казино туралы жаңалық"
        - images: ["{"0" * 16}"]
""",
        encoding="utf-8",
    )


def test_crawl_hashes_images_and_flags_a_known_banner(settings, db, tmp_path) -> None:
    packs = tmp_path / "packs"
    shutil.copytree(settings.rules_dir, packs)
    # The analyst's hash comes from another copy of the banner (a JPEG, smaller).
    _banner_pack(packs, phash_of(banner(240, 60, fmt="JPEG")))
    routes = {
        "/": html('<a href="/ad.html">1</a> <a href="/clean.html">2</a> <img src="/logo.png">'),
        "/ad.html": html('<p>Жаңалықтар</p><img src="/b/banner.png"><img src="/broken.png">'),
        "/clean.html": html('<p>Ауа райы</p><img src="/photo.png"><img src="/logo.png">'),
        "/b/banner.png": image(banner()),
        "/photo.png": image(banner(seed=1)),
        "/logo.png": image(banner(64, 64, seed=1)),
        "/broken.png": image(b"<html>oops</html>"),
    }
    with WebServer(routes) as web:
        with db.session() as s:
            s.add(Source(name="site", start_url=web.url + "/", allow_private=True))
        result = run_crawl(replace(settings, rules_dir=packs), db)
        assert result.returncode == 0
        assert web.hits["/logo.png"] == 1  # on two pages, fetched once
    with db.session() as s:
        pages = {p.url.rsplit("/", 1)[-1]: p for p in s.scalars(select(Page))}
        images = {i["src"].rsplit("/", 1)[-1]: i for i in pages["ad.html"].meta["images"]}
        assert len(images["banner.png"]["phash"]) == 16
        assert "cannot identify image" in images["broken.png"]["error"]
        flagged = {(d.page.url.rsplit("/", 1)[-1], d.rule_id) for d in s.scalars(select(Detection))}
        assert flagged == {("ad.html", "banners.known-casino")}
        (detection,) = s.scalars(select(Detection)).all()
        # a single-leaf tree: the explanation is that leaf
        evidence = detection.explanation["evidence"][0]
        assert evidence["image"].endswith("/b/banner.png") and evidence["distance"] <= 10


def test_inline_examples_can_be_pages_with_images(tmp_path) -> None:
    from rules.engine import run_inline_tests
    from rules.loader import load_rules

    packs = tmp_path / "packs"
    packs.mkdir()
    shutil.copy(Path(__file__).parent.parent / "rules" / "packs" / "violation_types.yaml", packs)
    known = phash_of(banner())
    _banner_pack(packs, known)
    count, failures = run_inline_tests(load_rules(packs))
    assert count == 3 and failures == []
    # an example that should not match but does is reported, page-shaped
    _banner_pack(packs, known)
    text = (packs / "banners.yaml").read_text(encoding="utf-8")
    (packs / "banners.yaml").write_text(text.replace('"' + "0" * 16, '"' + known), "utf-8")
    _, failures = run_inline_tests(load_rules(packs))
    assert [(f.kind, f.text) for f in failures] == [("no_match", f'{{"images":["{known}"]}}')]


def test_cli_prints_the_hash_analysts_paste_into_a_rule(settings, tmp_path) -> None:
    from typer.testing import CliRunner

    from kuzet.cli import app
    from tests.test_cli import env

    (tmp_path / "banner.png").write_bytes(banner())
    (tmp_path / "notes.txt").write_text("not an image", encoding="utf-8")
    r = CliRunner().invoke(
        app,
        ["rules", "phash", str(tmp_path / "banner.png"), str(tmp_path / "notes.txt")],
        env=env(settings),
    )
    assert r.exit_code == 1
    assert f"{phash_of(banner())}  {tmp_path / 'banner.png'}" in r.stdout
    assert "notes.txt: UnidentifiedImageError" in r.stderr
