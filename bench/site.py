"""A generated kk/ru news site for benchmarks, served by Twisted on 127.0.0.1.

``python -m bench.site --pages N`` prints ``PORT <n>`` once listening. Page ``/p/<i>.html``
links to ten other pages chosen deterministically, so a crawl from ``/`` reaches all N.
About 1 % of pages carry advertising for an online casino. ``--tall``: 40-paragraph
articles with lazily loaded photos, every one with the advertising (for the capture bench).
"""

from __future__ import annotations

import argparse
import random
import sys

from twisted.internet import reactor
from twisted.web import resource, server

WORDS = (
    "Қазақстан Республикасы үкімет жаңа заң жобасы бойынша азаматтар пікір білдірді "
    "Астана Алматы Шымкент қала әкімдігі жол құрылысы мектеп аурухана ауыл шаруашылығы "
    "Правительство Республики Казахстан сообщило новые меры поддержки бизнеса экономика "
    "курс тенге нефть инфляция Национальный банк депутаты Мажилиса обсудили законопроект "
    "погода снег синоптики спорт футбол чемпионат культура театр выставка образование"
).split()
CASINO = (
    "Онлайн-казино Vulkan: бонус на первый депозит 200%, 100 фриспинов, джекпот! "
    "Бірінші депозитке бонус, ұтысты шығару 5 минутта."
)


PHOTO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360">'
    b'<rect width="640" height="360" fill="#3a6"/><circle cx="320" cy="180" r="120" fill="#fc3"/>'
    b"</svg>"
)


def page(i: int, n: int, tall: bool = False) -> bytes:
    rnd = random.Random(i)
    paras = []
    for k in range(40 if tall else 8):
        paras.append("<p>" + " ".join(rnd.choice(WORDS) for _ in range(60)) + ".</p>")
        if tall and k % 10 == 9:  # an article's photos, lazily loaded as on news sites
            paras.append(f'<img loading="lazy" src="/img/{i}-{k}.svg" width="640" height="360">')
    if i % 100 == 7 or tall:
        paras.insert(2, f"<p>{CASINO}</p>")
    links = "".join(
        f'<li><a href="/p/{rnd.randrange(n)}.html">Жаңалық {j}</a></li>' for j in range(10)
    )
    nxt = f'<a href="/p/{(i + 1) % n}.html">Келесі</a>'
    html = (
        '<!doctype html><html lang="kk"><head><meta charset="utf-8">'
        f"<title>Жаңалық №{i} — Бенч</title>"
        f"</head><body><h1>Жаңалық №{i}</h1>{''.join(paras)}<ul>{links}</ul>{nxt}</body></html>"
    )
    return html.encode()


class Site(resource.Resource):
    isLeaf = True

    def __init__(self, n: int, tall: bool = False) -> None:
        super().__init__()
        self.n = n
        # Rendered once up front: serving should cost the benchmark as little CPU as possible.
        self.pages = [page(i, n, tall) for i in range(n)]

    def render_GET(self, request):  # type: ignore[no-untyped-def]
        path = request.path.decode()
        request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
        if path in ("/", "/index.html"):
            links = "".join(
                f'<a href="/p/{i}.html">{i}</a> ' for i in range(0, self.n, max(1, self.n // 50))
            )
            return f"<html><body>{links}</body></html>".encode()
        if path.startswith("/img/"):
            request.setHeader(b"Content-Type", b"image/svg+xml")
            return PHOTO
        if path == "/robots.txt":
            request.setHeader(b"Content-Type", b"text/plain")
            return b"User-agent: *\nAllow: /\n"
        if path.startswith("/p/") and path.endswith(".html"):
            try:
                i = int(path[3:-5])
            except ValueError:
                i = -1
            if 0 <= i < self.n:
                return self.pages[i]
        request.setResponseCode(404)
        return b"not found"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--tall", action="store_true", help="long articles with photos")
    args = parser.parse_args()
    site = server.Site(Site(args.pages, args.tall))
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    print(f"PORT {port.getHost().port}", flush=True)
    sys.stdout.flush()
    reactor.run()


if __name__ == "__main__":
    main()
