"""Article mode: split Arabic news into sentences (:mod:`stance.text.sentences`), classify each, summarise."""

from __future__ import annotations

from typing import Any

from stance.text.sentences import split_sentences

__all__ = ["assemble", "classify_article", "format_article", "rank_actors", "split_sentences", "summarise"]


def summarise(sentences: list[dict[str, Any]], labels: list[str]) -> dict[str, Any]:
    """Count and share of each label, dominant label, and the strongest sentence of each non-neutral label."""
    n = len(sentences)
    counts = {lab: sum(1 for s in sentences if s["label"] == lab) for lab in labels}
    mean_scores = {lab: (sum(s["scores"][lab] for s in sentences) / n if n else 0.0) for lab in labels}
    summary: dict[str, Any] = {
        "sentences": n,
        "counts": counts,
        "shares": {lab: (counts[lab] / n if n else 0.0) for lab in labels},
        "mean_scores": mean_scores,
        "dominant": max(labels, key=lambda lab: (counts[lab], mean_scores[lab])) if n else None,
    }
    for lab in labels:
        if lab == "neutral":
            continue
        if n:
            best = max(range(n), key=lambda i: sentences[i]["scores"][lab])
            summary[f"most_{lab}"] = {
                "index": best,
                "text": sentences[best]["text"],
                "score": sentences[best]["scores"][lab],
            }
        else:
            summary[f"most_{lab}"] = None
    return summary


def assemble(units: list[str], results: list[dict[str, Any]], labels: list[str]) -> dict[str, Any]:
    """The article result: per-sentence labels and scores plus the summary."""
    sentences = [{"index": i, "text": u, **r} for i, (u, r) in enumerate(zip(units, results))]
    return {"sentences": sentences, "summary": summarise(sentences, labels)}


def classify_article(
    classifier, text: str, batch_size: int = 32, actors: bool = False, explain: bool = False
) -> dict[str, Any]:
    """Per-sentence labels and scores plus an article summary.

    ``actors=True`` adds each sentence's ``actors`` and, in the summary, the
    article's ``actors`` ranked by how often they are mentioned. ``explain=True``
    adds each sentence's ``words`` with their weights (see ``Classifier.explain``).
    """
    units = split_sentences(text)
    if not units:
        results = []
    elif explain:
        results = classifier.explain(units)
    else:
        results = classifier.predict(units, batch_size=batch_size)
    if not actors:
        return assemble(units, results, classifier.labels)
    from stance.text.actors import ActorTagger

    tagger = ActorTagger.load()
    mentions = [tagger.mentions(u) for u in units]
    for result, found in zip(results, mentions):
        result["actors"] = list(dict.fromkeys(m.name for m in found))
    article = assemble(units, results, classifier.labels)
    article["summary"]["actors"] = rank_actors(mentions)
    return article


def rank_actors(mentions: list[list[Any]]) -> list[dict[str, Any]]:
    """Actors of an article, most mentioned first (ties: first mentioned first), with mention and sentence counts."""
    stats: dict[str, dict[str, Any]] = {}
    for sentence in mentions:
        for name in dict.fromkeys(m.name for m in sentence):
            stats.setdefault(name, {"name": name, "mentions": 0, "sentences": 0})["sentences"] += 1
        for m in sentence:
            stats[m.name]["mentions"] += 1
    order = {name: i for i, name in enumerate(stats)}
    return sorted(stats.values(), key=lambda s: (-s["mentions"], order[s["name"]]))


def format_article(result: dict[str, Any]) -> str:
    """Human-readable article report."""
    summary = result["summary"]
    lines = []
    for s in result["sentences"]:
        tagged = f"  [{', '.join(s['actors'])}]" if s.get("actors") else ""
        lines.append(f"[{s['index'] + 1:>3}] {s['label']:<13} {s['scores'][s['label']]:.2f}  {s['text']}{tagged}")
    lines.append("")
    lines.append(f"sentences: {summary['sentences']}   dominant: {summary['dominant']}")
    lines.append(
        "   ".join(f"{lab}: {summary['counts'][lab]} ({summary['shares'][lab]:.0%})" for lab in summary["counts"])
    )
    if summary.get("actors"):
        lines.append("actors: " + ", ".join(f"{a['name']} ({a['mentions']})" for a in summary["actors"]))
    for key, value in summary.items():
        if key.startswith("most_") and value:
            lines.append(f"{key.replace('_', ' ')} ({value['score']:.2f}): {value['text']}")
    return "\n".join(lines)
