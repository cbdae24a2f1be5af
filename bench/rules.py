"""Rules benchmark: kuzet's keyword engine vs a strong simple baseline, on kk/ru text.

Builds a ~50 MB corpus of documents (3–15 KB each) from real Kazakh and Russian text
(``tests/sample_data``: KazNERD sentences, KazSAnDRA reviews, tengrinews pages), tidied
as extraction stores page text (single spaces), with
10,000 keywords: the starter packs' own, two-word phrases of real words, and invented
words; 1 % of the documents get a few of them planted, a third of those disguised
(look-alike letters, spacing, Latin spelling, inflection).

- engine: :class:`rules.matchers.KeywordMatcher` on batches of 50 documents (as the
  analysis worker reads pages), *including* all its normalisation (look-alikes, NFKC,
  translit, inflection, spaced/stretched letters) and whole-word checks;
- baseline: ``text.casefold()`` then one pyahocorasick automaton of the casefolded
  keywords (no whole-word check, no normalisation beyond case).

    python -m bench.rules [--mb 50] [--keywords 10000] [--pure-fold]

Last line: {"engine_mb_s", "baseline_mb_s", "ratio"}
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from pathlib import Path

import ahocorasick

from crawler.extract import tidy, understand
from rules import normalize
from rules.loader import load_rules
from rules.matchers import KeywordMatcher

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "sample_data"
PACKS = ROOT / "rules" / "packs"
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[^\W\d_]{5,}")
_STRETCHED = re.compile(r"(.)\1\1")  # кереметтт: chat spelling, not a word an analyst lists
BATCH = 50  # pages per batch, as the analysis worker reads them
_SYLLABLES = "ка за ри но сп ин ло то бе ти жа қу ғы нә ші ор ал ек тр ум ре пи ду ма".split()


def sentences() -> list[str]:
    out = (SAMPLES / "corpora" / "kaznerd_kk.txt").read_text(encoding="utf-8").splitlines()
    out += (SAMPLES / "corpora" / "kazsandra_reviews.txt").read_text(encoding="utf-8").splitlines()
    for page in sorted((SAMPLES / "realpages").glob("*.html")):
        text = understand(page.read_bytes()).text
        out += [s.strip() for s in _SENTENCE.split(text.replace("\n", " ")) if len(s) > 20]
    # The engine reads page text as extraction stores it: whitespace already tidied.
    return [tidy(s) for s in out if s.strip()]


def make_keywords(sents: list[str], n: int, rnd: random.Random) -> list[str]:
    rules = load_rules(PACKS)
    keywords = {kw for rule in rules.rules for kw in rule.keywords}
    vocab = sorted({w.lower() for s in sents for w in _WORD.findall(s) if not _STRETCHED.search(w)})
    while len(keywords) < n * 9 // 10:
        keywords.add(f"{rnd.choice(vocab)} {rnd.choice(vocab)}")
    while len(keywords) < n:
        keywords.add("".join(rnd.choice(_SYLLABLES) for _ in range(rnd.randint(3, 4))))
    return sorted(keywords)


# Everyday Latin spelling of Cyrillic, as people type it (not the engine's own tables).
_LATIN = str.maketrans(
    {
        **dict(
            zip("абвгдезийклмнопрстуфыэәғқңөұүіһ", "abvgdeziiklmnoprstufyeagqnouuih", strict=True)
        ),
        **{"ж": "zh", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh", "ю": "yu"},
        **{"я": "ya", "ё": "yo", "ь": "", "ъ": ""},
    }
)


def disguise(keyword: str, rnd: random.Random) -> str:
    word = keyword.rstrip("*").lstrip("=")
    how = rnd.choice(("lookalike", "spaced", "upper", "stretched", "latin", "inflected"))
    if how == "lookalike":
        return word.translate(str.maketrans("аеорсхі", "aeopcxi"))
    if how == "spaced":
        return " ".join(word)
    if how == "stretched":
        i = rnd.randrange(len(word))
        return word[:i] + word[i] * 3 + word[i + 1 :]
    if how == "latin":
        return word.translate(_LATIN)
    if how == "inflected" and not keyword.startswith("="):
        # Kazakh case endings, or Russian ones where the word ends as a Russian noun can.
        vowel = word[-1] in "аеиоуыэюяәіөұүё"
        return word + rnd.choice(("да", "ға", "лар", "ны") if vowel else ("да", "ом", "ами"))
    return word.upper()


def make_corpus(
    sents: list[str], keywords: list[str], mb: float, rnd: random.Random
) -> tuple[list[str], list[tuple[int, str]]]:
    """Documents, and the keywords planted in them: (document index, keyword)."""
    docs: list[str] = []
    size = 0
    planted: list[tuple[int, str]] = []
    target = mb * 1_000_000
    while size < target:
        want = rnd.randint(3_000, 15_000)
        parts: list[str] = []
        length = 0
        while length < want:
            s = rnd.choice(sents)
            parts.append(s)
            length += len(s.encode()) + 1
        if rnd.random() < 0.01:
            for _ in range(rnd.randint(1, 3)):
                keyword = rnd.choice(keywords)
                kw = keyword.rstrip("*").lstrip("=")
                if rnd.random() < 0.33 and " " not in kw:
                    kw = disguise(keyword, rnd)
                parts.insert(rnd.randrange(len(parts) + 1), f"Жарнама: {kw}!")
                planted.append((len(docs), keyword))
        doc = " ".join(parts)
        docs.append(doc)
        size += len(doc.encode())
    return docs, planted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=50)
    parser.add_argument("--keywords", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--pure-fold", action="store_true", help="fold in pure Python, as without a C compiler"
    )
    args = parser.parse_args()
    if args.pure_fold:
        normalize._compiled = None
    rnd = random.Random(2026)

    sents = sentences()
    keywords = make_keywords(sents, args.keywords, rnd)
    docs, planted = make_corpus(sents, keywords, args.mb, rnd)
    mb = sum(len(d.encode()) for d in docs) / 1_000_000
    print(
        f"corpus: {len(docs)} documents, {mb:.1f} MB, {len(keywords)} keywords, "
        f"{len(planted)} planted"
    )

    started = time.perf_counter()
    matcher = KeywordMatcher(keywords)
    build_s = time.perf_counter() - started
    fold = "pure-Python" if normalize._compiled is None else "compiled"
    print(
        f"engine: {matcher.scanner.name}, {fold} fold, {matcher.literal_count} literals "
        f"(stems, Latin spellings), built in {build_s:.2f} s",
        flush=True,
    )
    automaton = ahocorasick.Automaton()
    for kw in keywords:
        automaton.add_word(kw.rstrip("*").lstrip("=").casefold(), kw)
    automaton.make_automaton()

    def engine() -> tuple[int, list[list[str]]]:
        hits = 0
        terms: list[list[str]] = []
        for i in range(0, len(docs), BATCH):
            for found in matcher.find_many(docs[i : i + BATCH]):
                hits += len(found)
                terms.append([m.term for m in found])
        return hits, terms

    def baseline() -> int:
        hits = 0
        for d in docs:
            for _ in automaton.iter(d.casefold()):
                hits += 1
        return hits

    # Both run in turns, best of each: this machine's speed drifts between seconds.
    engine_s = baseline_s = float("inf")
    for n in range(args.rounds):
        started = time.perf_counter()
        engine_hits, terms = engine()
        took = time.perf_counter() - started
        engine_s = min(engine_s, took)
        started = time.perf_counter()
        baseline_hits = baseline()
        base_took = time.perf_counter() - started
        baseline_s = min(baseline_s, base_took)
        print(f"round {n + 1}: engine {took:.3f} s, baseline {base_took:.3f} s", flush=True)
    found = sum(kw in terms[i] for i, kw in planted)
    print(f"planted keywords found by the engine: {found} of {len(planted)}")

    engine_rate, baseline_rate = mb / engine_s, mb / baseline_s
    print(f"engine: {engine_hits} hits in {engine_s:.2f} s = {engine_rate:.1f} MB/s")
    print(f"baseline: {baseline_hits} hits in {baseline_s:.2f} s = {baseline_rate:.1f} MB/s")
    print(
        json.dumps(
            {
                "engine_mb_s": round(engine_rate, 1),
                "baseline_mb_s": round(baseline_rate, 1),
                "ratio": round(engine_rate / baseline_rate, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
