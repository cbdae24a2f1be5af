"""Reading WARCs back: real files from warcio's tests, sound and deliberately broken."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from evidence.warc import Exchange, build_warc, check_warc

WARCS = Path(__file__).parent / "sample_data" / "warc"


@pytest.mark.parametrize(
    "name", ["example.warc.gz", "example-iana.org-chunked.warc", "post-test.warc.gz"]
)
def test_sound_warcs_have_no_problems(name: str) -> None:
    assert check_warc((WARCS / name).read_bytes()) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("example-digest.warc", "record 1 (request http://example.com/): payload digest failed"),
        ("example-trunc.warc", "record 3 (response http://example.com/): block digest failed"),
        ("example-wrong-chunks.warc.gz", "unreadable after 516 bytes: Invalid WARC record"),
        ("example-bad-non-chunked.warc.gz", "unreadable: non-chunked gzip file detected"),
    ],
)
def test_broken_warcs_are_named_record_by_record(name: str, expected: str) -> None:
    problems = check_warc((WARCS / name).read_bytes())
    assert any(p.startswith(expected) for p in problems), problems


def test_our_warcs_carry_digests_that_catch_a_changed_byte() -> None:
    warc = build_warc(
        [
            Exchange(
                url="http://site.kz/a.html",
                status=200,
                response_headers={"Content-Type": "text/html"},
                body="<p>Онлайн-казино</p>".encode(),
            )
        ],
        software="kuzet test",
        info={},
    )
    assert check_warc(warc) == []
    # the same records uncompressed, with one letter of the body changed
    raw = gzip.decompress(warc).replace("казино".encode(), "казинО".encode())
    problems = check_warc(raw)
    assert any("response http://site.kz/a.html): block digest failed" in p for p in problems)


@pytest.mark.parametrize("title", ["--help", "-o /tmp/x", "--url=http://evil.kz/", "-"])
def test_a_title_that_looks_like_an_option_stays_a_title(title: str, tmp_path: Path) -> None:
    import io
    import json
    import zipfile

    from evidence.warc import build_wacz, validate_wacz

    ex = Exchange(
        url="http://site.kz/",
        status=200,
        response_headers={"Content-Type": "text/html"},
        body=f"<title>{title}</title>".encode(),
    )
    wacz = build_wacz(
        build_warc([ex], software="kuzet test", info={}), url=ex.url, at=ex.at, title=title
    )
    (tmp_path / "page.wacz").write_bytes(wacz)
    assert validate_wacz(tmp_path / "page.wacz")[0]
    with zipfile.ZipFile(io.BytesIO(wacz)) as z:
        header, page = (json.loads(line) for line in z.read("pages/pages.jsonl").splitlines())
        package = json.loads(z.read("datapackage.json"))
    assert header["format"] == "json-pages-1.0"
    assert (page["url"], page["title"]) == ("http://site.kz/", title)
    assert (package["title"], package["mainPageURL"]) == (title, "http://site.kz/")
