"""Streaming aggregation of labelled rows: counts per period, group, actor and actor pair, and extreme statements.

Memory grows with the number of distinct periods, groups, actors and actor
pairs, never with the number of rows.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from typing import Any

KNOWN_ORDER = ["conciliatory", "hostile", "neutral", "positive", "negative"]
ALL = "all"


def order_labels(seen: list[str] | set[str], model_labels: list[str] | None = None) -> list[str]:
    """The model's label order, else the known stance/sentiment order, then the rest alphabetically."""
    if model_labels:
        return list(model_labels) + sorted(set(seen) - set(model_labels))
    known = [lab for lab in KNOWN_ORDER if lab in seen]
    return known + sorted(set(seen) - set(known))


class Aggregator:
    """Add rows one by one (:meth:`add`, :meth:`skip`), then read the totals with :meth:`summary`."""

    def __init__(self, extremes: int = 3) -> None:
        self.total: Counter[str] = Counter()
        self.periods: dict[str, Counter[str]] = {}
        self.groups: dict[str, Counter[str]] = {}
        self.actors: dict[str, Counter[str]] = {}
        self.pairs: dict[tuple[str, str], Counter[str]] = {}
        self.actor_periods: dict[str, dict[str, Counter[str]]] = {}
        self.skipped: Counter[str] = Counter()
        self.rows_read = 0
        self.with_actors = 0
        self.extremes = extremes
        # (period, label) -> min-heap of (score, sequence, text, id): the `extremes` highest scores
        self._heaps: dict[tuple[str, str], list[tuple[float, int, str, Any]]] = {}
        self._seq = itertools.count()

    def skip(self, reason: str) -> None:
        self.rows_read += 1
        self.skipped[reason] += 1

    def add(
        self,
        label: str,
        period: str | None,
        group: str | None,
        actors: list[str],
        scores: dict[str, float] | None = None,
        text: str | None = None,
        row_id: Any = None,
    ) -> None:
        self.rows_read += 1
        self.total[label] += 1
        key = period or ALL
        if period is not None:
            self.periods.setdefault(period, Counter())[label] += 1
        if group is not None:
            self.groups.setdefault(group, Counter())[label] += 1
        unique = sorted(set(actors))
        if unique:
            self.with_actors += 1
        for actor in unique:
            self.actors.setdefault(actor, Counter())[label] += 1
            if period is not None:
                self.actor_periods.setdefault(actor, {}).setdefault(period, Counter())[label] += 1
        for pair in itertools.combinations(unique, 2):
            self.pairs.setdefault(pair, Counter())[label] += 1
        if scores and self.extremes:
            for lab, score in scores.items():
                if score is None:
                    continue
                heap = self._heaps.setdefault((key, lab), [])
                item = (float(score), next(self._seq), text or "", row_id)
                if len(heap) < self.extremes:
                    heapq.heappush(heap, item)
                elif item[0] > heap[0][0]:
                    heapq.heapreplace(heap, item)

    def top_statements(self, period: str, label: str) -> list[dict[str, Any]]:
        heap = self._heaps.get((period, label), [])
        return [
            {"score": round(score, 4), "text": text, "id": row_id}
            for score, _, text, row_id in sorted(heap, key=lambda x: (-x[0], x[1]))
        ]

    def summary(self, labels: list[str], focus: list[str], top_actors: int, top_pairs: int) -> dict[str, Any]:
        """Counts and shares (each with its n) for the whole input and every breakdown."""

        def block(counts: Counter[str]) -> dict[str, Any]:
            n = sum(counts.values())
            return {
                "n": n,
                "counts": {lab: counts.get(lab, 0) for lab in labels},
                "shares": {lab: round(counts.get(lab, 0) / n, 4) if n else 0.0 for lab in labels},
            }

        def ranked(table: dict[Any, Counter[str]]) -> list[tuple[Any, Counter[str]]]:
            return sorted(table.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))

        periods = sorted(self.periods)
        extreme_labels = [lab for lab in labels if lab != "neutral"]
        actor_rank = ranked(self.actors)
        timeline_actors = focus or [name for name, _ in actor_rank[: min(5, top_actors)]]
        return {
            "labels": labels,
            "rows_read": self.rows_read,
            "rows_used": sum(self.total.values()),
            "rows_skipped": sum(self.skipped.values()),
            "skipped": dict(sorted(self.skipped.items())),
            "rows_with_actors": self.with_actors,
            "total": block(self.total),
            "periods": [{"period": p, **block(self.periods[p])} for p in periods],
            "groups": [{"group": g, **block(c)} for g, c in ranked(self.groups)],
            "actors": [{"actor": a, **block(c)} for a, c in actor_rank],
            "pairs": [{"actors": list(p), **block(c)} for p, c in ranked(self.pairs)[: max(top_pairs, 0) * 10]],
            "actor_timelines": [
                {
                    "actor": actor,
                    "periods": [
                        {"period": p, **block(self.actor_periods.get(actor, {}).get(p, Counter()))} for p in periods
                    ],
                }
                for actor in timeline_actors
            ],
            "extremes": [
                {"period": p, **{f"most_{lab}": self.top_statements(p, lab) for lab in extreme_labels}}
                for p in (periods or [ALL])
            ],
        }
