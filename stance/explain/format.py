"""Human-readable explanations: the top words of a statement marked ``[[word]]`` with their weights."""

from __future__ import annotations

from typing import Any

from stance.inference.explain import top_words


def mark_words(text: str, result: dict[str, Any], top: int = 3) -> str:
    """``text`` with its ``top`` supporting words (positive weight) wrapped in ``[[...]]``."""
    words = result["words"]
    marked = sorted((i for i in top_words(result, top) if words[i]["weight"] > 0), key=lambda i: words[i]["start"])
    out, position = [], 0
    for i in marked:
        out.append(text[position : words[i]["start"]])
        out.append(f"[[{words[i]['text']}]]")
        position = words[i]["end"]
    out.append(text[position:])
    return "".join(out)


def format_explanation(text: str, result: dict[str, Any], top: int = 3) -> str:
    """Three lines: label and scores; the text with its top words marked; the top words with their weights."""
    scores = "  ".join(f"{k} {v:.3f}" for k, v in result["scores"].items())
    words = result["words"]
    ranked = "   ".join(f"{words[i]['text']} {words[i]['weight']:+.3f}" for i in top_words(result, top))
    return f"{result['label']}\t{scores}\n  {mark_words(text, result, top)}\n  top words: {ranked or '(none)'}"


def format_explained_article(result: dict[str, Any], top: int = 3) -> str:
    """:func:`stance.inference.article.format_article` with each sentence's top words marked."""
    from stance.inference.article import format_article

    sentences = [{**s, "text": mark_words(s["text"], s, top)} for s in result["sentences"]]
    return format_article({**result, "sentences": sentences})
