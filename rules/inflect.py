"""Word forms: a keyword matches its Russian and Kazakh inflected forms.

A keyword is matched by its *stem* and the rest of the word (the tail) must be an
inflection: a Russian ending, or a chain of Kazakh suffixes (Kazakh is agglutinative:
кітап → кітаптарымыздан). Vowel harmony is not enforced, so both variants of every
suffix are accepted; that costs little precision because the stem already matched.

Keyword syntax (in rule packs):

- ``закладка``: the word in any of its forms (закладки, закладку, закладкалар);
- ``=соль``: this form only;
- ``фриспин*``: the stem followed by anything (фриспины, фриспинов, фриспиндер).

All functions work on folded text (lower case Cyrillic, see :mod:`rules.normalize`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

KAZAKH_LETTERS = frozenset("әғқңөұүһі")

# Russian noun, adjective, participle and short verb endings (folded: ё is е).
RU_ENDINGS = frozenset(
    """
    а я о е ы и у ю ь й
    ам ям ами ями ах ях ой ей ою ею ом ем ов ев ий ый ая яя ое ее ые ие ую юю
    ого его ому ему ым им ых их ия ье ья ьи ью ьям ьями ьях ием ией ии иям иями иях
    ть ет ут ют ит ат ят ешь ишь ем им ете ите ал ала ало али ил ила ило или ел ела ели
    ться тся ется ются ится ятся ся сь ешься ишься
    """.split()
)
# Endings a Russian keyword may be written with, stripped to find its stem.
RU_STRIP = sorted(
    """а я о е ы и у ю ь й ой ей ий ый ая яя ое ее ые ие ого его ом ем ам ям ах ях ов ев
    ия ие ье ть""".split(),
    key=len,
    reverse=True,
)

KK_SUFFIXES = frozenset(
    """
    лар лер дар дер тар тер
    м ым ім ң ың ің ңыз ңіз ыңыз іңіз сы сі ы і мыз міз ымыз іміз
    ның нің дың дің тың тің
    ға ге қа ке на не а е
    ны ні ды ді ты ті н
    да де та те нда нде
    дан ден тан тен нан нен
    мен бен пен менен бенен пенен
    мын мін бын бін пын пін сың сің сыз сіз быз біз пыз піз
    ғы гі қы кі дай дей тай тей лы лі шы ші
    лық лік дық дік тық тік ша ше
    дағы дегі тағы тегі нағы негі
    ба бе па пе ма ме ғой
    """.split()
)
_KK_MAX = max(len(s) for s in KK_SUFFIXES)
_KK_CHAIN = 5
# Kazakh stems ending in a voiceless consonant voice it before a vowel: кітап → кітабы.
KK_VOICING = {"п": "б", "к": "г", "қ": "ғ"}
_VOWELS = frozenset("аәеиоөұүыіэюяуё")
_NARROW = frozenset("ыіұү")
MIN_STEM = 4


class Form(StrEnum):
    INFLECT = "inflect"  # the tail must be an inflection
    EXACT = "exact"  # no tail
    PREFIX = "prefix"  # any tail


@dataclass(frozen=True)
class Stem:
    """What the scanner looks for, and what may follow it in the same word."""

    text: str  # folded
    form: Form
    vowel_tail: bool = False  # a voiced stem (кітаб): the tail must start with a vowel
    ending: str = ""  # the Russian ending stripped off the keyword (конституц|ия)
    kazakh_tail: bool = False  # only Kazakh suffixes may follow (an elided stem: халқ|ы)


def parse_keyword(raw: str) -> tuple[str, Form]:
    """Split the keyword syntax into the words and the form rule."""
    kw = raw.strip()
    if kw.startswith("="):
        return kw[1:].strip(), Form.EXACT
    if kw.endswith("*"):
        return kw[:-1].strip(), Form.PREFIX
    return kw, Form.INFLECT


def stems(folded: str, form: Form) -> list[Stem]:
    """The stems a folded keyword is scanned for (the last word inflects)."""
    if form is not Form.INFLECT:
        return [Stem(folded, form)]
    head, _, last = folded.rpartition(" ")
    prefix = f"{head} " if head else ""
    if not last or not last.isalpha() or len(last) < 3:
        return [Stem(folded, Form.EXACT)]  # too short to tell an ending from another word
    out = [Stem(folded, Form.INFLECT)]
    if not KAZAKH_LETTERS & set(last):
        for ending in RU_STRIP:
            if last.endswith(ending) and len(last) - len(ending) >= MIN_STEM:
                out = [Stem(prefix + last[: -len(ending)], Form.INFLECT, ending=ending)]
                break
    if last[-1] in KK_VOICING and len(last) >= MIN_STEM - 1:
        voiced = prefix + last[:-1] + KK_VOICING[last[-1]]
        out.append(Stem(voiced, Form.INFLECT, vowel_tail=True))
    # Kazakh drops a narrow vowel of the last syllable before a vowel-initial suffix:
    # халық → халқы, орын → орны (not after a vowel or у: ауыз → аузы is not covered).
    if len(last) >= 4 and last[-2] in _NARROW and last[-3] not in _VOWELS:
        elided = prefix + last[:-2] + last[-1]
        out.append(Stem(elided, Form.INFLECT, vowel_tail=True, kazakh_tail=True))
    return out


def tail_ok(stem: Stem, tail: str) -> bool:
    """Whether ``tail`` (the rest of the word after the stem) is allowed."""
    if stem.form is Form.PREFIX:
        return True
    if stem.form is Form.EXACT:
        return not tail
    if stem.vowel_tail:
        if not tail or tail[0] not in _VOWELS:
            return False
        return _kk_chain(tail) if stem.kazakh_tail else is_inflection(tail)
    if is_inflection(tail):
        return True
    # A Russian loanword takes Kazakh suffixes on its full form: конституция|сы.
    return (
        bool(stem.ending) and tail.startswith(stem.ending) and _kk_chain(tail[len(stem.ending) :])
    )


def is_inflection(tail: str) -> bool:
    return not tail or tail in RU_ENDINGS or _kk_chain(tail)


@cache
def _kk_chain(tail: str) -> bool:
    """Whether ``tail`` is a chain of at most five Kazakh suffixes."""
    if len(tail) > _KK_MAX * _KK_CHAIN:
        return False
    # reachable[i]: fewest suffixes that spell tail[:i]
    reach = [0] + [_KK_CHAIN + 1] * len(tail)
    for i in range(len(tail)):
        if reach[i] >= _KK_CHAIN:
            continue
        for j in range(i + 1, min(len(tail), i + _KK_MAX) + 1):
            if tail[i:j] in KK_SUFFIXES and reach[i] + 1 < reach[j]:
                reach[j] = reach[i] + 1
    return reach[-1] <= _KK_CHAIN
