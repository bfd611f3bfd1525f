"""Majority consensus and inter-annotator agreement (Fleiss' kappa, pairwise Cohen's kappa).

``vote`` settles a mission: the most frequent answer wins; a tie is not a result (the mission
stays open for one more answer). ``agreement`` is the winner's share of the counted answers.

Kappa: Fleiss' kappa (generalised to items with different numbers of ratings, each item needing at
least two) over the settled missions of one type, and the mean of Cohen's kappa over every pair of
labellers who answered at least :data:`MIN_PAIR_ITEMS` missions in common (Light's kappa).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MIN_PAIR_ITEMS = 2


@dataclass(frozen=True)
class Vote:
    result: str | None  # None when tied (or no answers)
    agreement: float | None
    tie: bool
    counts: dict[str, int]


def vote(answers: Sequence[str]) -> Vote:
    counts = Counter(answers)
    if not counts:
        return Vote(None, None, False, {})
    ranked = counts.most_common()
    top, n = ranked[0]
    if len(ranked) > 1 and ranked[1][1] == n:
        return Vote(None, n / len(answers), True, dict(counts))
    return Vote(top, n / len(answers), False, dict(counts))


def agreement_with(answers: Sequence[str], result: str | None) -> float | None:
    """Share of answers equal to ``result`` (the gold answer on gold missions)."""
    if not answers or result is None:
        return None
    return sum(1 for a in answers if a == result) / len(answers)


def fleiss_kappa(items: Iterable[Sequence[str]]) -> float | None:
    """Fleiss' kappa over items (each a list of category labels, one per rater).

    Items with fewer than two ratings carry no agreement information and are skipped. Returns None
    when there is nothing to measure, 1.0 when everyone always agrees on a single category.
    """
    rated = [list(i) for i in items if len(i) >= 2]
    if not rated:
        return None
    totals: Counter[str] = Counter()
    n_ratings = 0
    p_bar = 0.0
    for item in rated:
        counts = Counter(item)
        n = len(item)
        totals.update(counts)
        n_ratings += n
        p_bar += (sum(c * c for c in counts.values()) - n) / (n * (n - 1))
    p_bar /= len(rated)
    p_e = sum((c / n_ratings) ** 2 for c in totals.values())
    if p_e >= 1.0:
        return 1.0 if p_bar >= 1.0 else None
    return (p_bar - p_e) / (1 - p_e)


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa for two raters' labels of the same items (same order)."""
    n = len(a)
    if n == 0 or n != len(b):
        return None
    p_o = sum(1 for x, y in zip(a, b, strict=True) if x == y) / n
    ca, cb = Counter(a), Counter(b)
    p_e = sum(ca[k] * cb.get(k, 0) for k in ca) / (n * n)
    if p_e >= 1.0:
        return 1.0 if p_o >= 1.0 else None
    return (p_o - p_e) / (1 - p_e)


def mean_pairwise_cohen(items: Iterable[dict[str, str]]) -> tuple[float | None, int]:
    """Light's kappa: mean Cohen's kappa over rater pairs sharing >= MIN_PAIR_ITEMS items.

    ``items`` maps rater -> label per item. Returns (kappa, number of pairs used).
    """
    by_pair: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for item in items:
        for r1, r2 in itertools.combinations(sorted(item), 2):
            la, lb = by_pair.setdefault((r1, r2), ([], []))
            la.append(item[r1])
            lb.append(item[r2])
    kappas = [
        k
        for la, lb in by_pair.values()
        if len(la) >= MIN_PAIR_ITEMS and (k := cohen_kappa(la, lb)) is not None
    ]
    if not kappas:
        return None, 0
    return sum(kappas) / len(kappas), len(kappas)
