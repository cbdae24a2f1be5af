"""The compiled fold (rules/_fold.c) against the pure-Python path it replaces.

The C fold must give the same bytes as the codec fold, the same sign ends as the
Hyperscan sign database and the same letter-run ends as numpy, on real text and on text
made of nothing but the characters that make signs.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from crawler.extract import understand
from rules import normalize
from rules.matchers import KeywordMatcher

SAMPLES = Path(__file__).resolve().parent / "sample_data"
compiled = pytest.mark.skipif(normalize._compiled is None, reason="compiled fold not built")


def real_texts() -> list[str]:
    corpora = SAMPLES / "corpora"
    texts = [
        (corpora / name).read_text(encoding="utf-8")
        for name in ("kaznerd_kk.txt", "kazsandra_reviews.txt")  # reviews: full of emoji
    ]
    texts += [understand(p.read_bytes()).text for p in sorted((SAMPLES / "realpages").glob("*"))]
    return texts


def pure_fold(text: str) -> bytes:
    return normalize.encode(text).translate(normalize.FOLD_TABLE)


def hyperscan_signs() -> Callable[[bytes], list[int]]:
    """The sign search of the Python path: every end of every SLOW_SIGNS pattern."""
    hyperscan = pytest.importorskip("hyperscan")
    patterns = [normalize.SLOW_SIGNS[k] for k in ("invisible", "spaced letters", "leet")]
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=patterns, ids=[0, 1, 2], elements=3, flags=[0, 0, 0])

    def ends(data: bytes) -> list[int]:
        out: list[int] = []
        if data:
            db.scan(data, match_event_handler=lambda _i, _s, end, _f, _c: out.append(end))
        return sorted(out)

    return ends


def test_the_compiled_fold_is_built_where_a_compiler_is() -> None:
    # Without it everything still works, at a third of the speed: say so, not silently.
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler on this machine: the pure-Python fold is used")
    assert normalize._compiled is not None, "rules/_fold.c was not built: rerun scripts/setup"


@compiled
def test_compiled_fold_gives_the_codec_fold_bytes() -> None:
    every_char = "".join(map(chr, range(0x20000)))  # planes 0 and 1, surrogates too
    beyond = "\U00020000 \U0002a6d6 \U000e0041 \U0010ffff"  # CJK ext., tags, the last one
    for text in [*real_texts(), every_char, beyond, "", "a", "\ud83d"]:
        expected = pure_fold(text)
        # Twice: the first time fills the table, the second reads it.
        assert normalize.fold_fast(text) == expected
        assert normalize.fold_fast(text) == expected
        data, _, _ = normalize.fold_marked(text)
        assert data == expected


@compiled
def test_compiled_fold_finds_the_signs_and_letter_runs_of_the_python_path() -> None:
    rnd = random.Random(7)
    # The characters signs are made of: letters, leet digits and signs, separators that
    # fold to spaces, invisibles, look-alikes; short strings reach both text edges.
    alphabet = "аксз04@1$ .\u200b\u00ad-xXaоО3б!\n7ә"
    texts = ["".join(rnd.choices(alphabet, k=rnd.randint(0, 14))) for _ in range(20_000)]
    lines = (SAMPLES / "corpora" / "kazsandra_reviews.txt").read_text("utf-8").splitlines()
    texts += lines[:2000]
    texts += ["к а з и н о", "к.а.з.и.н.о", "казин0", "к4з1н0", "ка\u200bзино", "казиииино"]
    signs_of = hyperscan_signs()
    seen_signs = seen_runs = 0
    for text in texts:
        data, signs, runs = normalize.fold_marked(text)
        assert sorted(signs) == signs_of(data), text
        assert runs == normalize.letter_run_ends(data), text
        seen_signs += len(signs)
        seen_runs += len(runs)
    assert seen_signs > 1000 and seen_runs > 100  # the test saw what it tests


@compiled
def test_the_engine_finds_the_same_with_the_pure_fold(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = (SAMPLES / "corpora" / "kaznerd_kk.txt").read_text("utf-8").splitlines()
    words = sorted({w.lower() for line in lines[:300] for w in line.split() if w.isalpha()})
    keywords = [*words[::40], "казино", "онлайн казино", "закладка", "әдемі"]
    texts = [
        *lines[:300],
        "Онлайн К А З И Н О 👍👍 и к4з1н0, ка\u00adзи\u200bно, казиииино, 𝐤𝐚𝐳𝐢𝐧𝐨!",
        "Ə Д Е М І ❤️ закладкалар",
    ]
    m = KeywordMatcher(keywords)
    with_c = m.find_many(texts)
    monkeypatch.setattr(normalize, "_compiled", None)
    assert normalize.fold_marked("x") is None
    assert m.find_many(texts) == with_c
    assert sum(map(len, with_c)) > 50


def test_a_build_of_another_version_is_not_used() -> None:
    # A .so left over from an older rules/_fold.c (setup not rerun) must not be called
    # with arguments it does not know: normalize warns and folds in pure Python.
    code = (
        "import sys, types, warnings\n"
        "sys.modules['rules._fold'] = types.ModuleType('rules._fold')  # no VERSION\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        "    from rules import normalize\n"
        "assert normalize._compiled is None\n"
        "assert any('rerun ./scripts/setup' in str(w.message) for w in seen), seen\n"
        "assert normalize.fold('КАЗИНО') == 'казино'\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
