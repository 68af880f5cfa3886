"""Which political actors a statement mentions: a curated gazetteer matched on normalised Arabic text.

The gazetteer (``actors.json`` next to this module) lists each actor with a
canonical English name (``"Russia"``, ``"United States"``), a type (country,
state, region, international_body, coalition, armed_group, party) and its
Arabic aliases: names, capitals, metonyms (``واشنطن``, ``البيت الأبيض``,
``الكرملين``) and masculine singular demonyms (``روسي``), whose feminine,
accusative, sound plural and dual forms are derived here (``روسية``, ``حوثيا``, ``روسيون``,
``روسيين``, ``روسيان``).

Matching:

* text and aliases are normalised the same way: diacritics and tatweel dropped,
  أ إ آ ٱ → ا, ى → ي, ة → ه;
* an alias matches whole words only («إيران» never matches inside another word);
  its first word may carry the attached clitics و ف (and), ب ل ك (prepositions)
  and the article ال, in the combinations Arabic allows (وال، بال، فبال، لل، ولل …);
* an alias written with the article («الصين») needs it (or لل) in the text; a
  name written without it («روسيا», «حماس») must appear without it; demonyms
  take it or not (روسي، الروسية);
* the longest alias wins at each position («روسيا البيضاء» is Belarus, not
  Russia), and ``ignore`` phrases («المغرب العربي», «المحيط الهندي») are matched
  like aliases and dropped.

>>> from stance.text.actors import tag_actors
>>> tag_actors("فرضت الولايات المتحدة عقوبات جديدة على روسيا")
['United States', 'Russia']
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from stance.errors import StanceError
from stance.text.normalize import NormalizationConfig, Normalizer

__all__ = ["Actor", "ActorTagger", "GAZETTEER_PATH", "Mention", "tag_actors"]

GAZETTEER_PATH = Path(__file__).with_name("actors.json")

_NORMALIZER = Normalizer(
    NormalizationConfig(
        normalize_alef=True,
        normalize_ya=True,
        normalize_ta_marbuta=True,
        replace_urls=False,
        replace_mentions=False,
    )
)
_WORD = re.compile("[\u0621-\u063a\u0641-\u064a]+")
_ARTICLE = "ال"
# Clitics that attach before a name: conjunction, then preposition, then article (ل + ال is written لل).
_PREFIXES: list[tuple[str, bool]] = sorted(
    {
        (conj + ("لل" if prep == "ل" and art else prep + art), bool(art))
        for conj in ("", "و", "ف")
        for prep in ("", "ب", "ل", "ك")
        for art in ("", _ARTICLE)
    },
    key=lambda p: len(p[0]),
)
_MIN_STEM = 2
# Derived forms of a masculine singular nisba ending in ي: feminine, accusative (حوثيا), sound plurals, dual.
_DEMONYM_SUFFIXES = ("", "ه", "ا", "ون", "ين", "ان")
_CACHE_LIMIT = 200_000


def normalize_for_matching(text: str) -> str:
    """The normalisation used for matching (diacritics off, alef/ya/ta marbuta folded)."""
    return _NORMALIZER(text)


def words(text: str) -> list[str]:
    """The Arabic words of ``text`` after matching normalisation."""
    return _WORD.findall(normalize_for_matching(text))


@dataclass(frozen=True)
class Actor:
    """One gazetteer entry."""

    name: str
    type: str
    aliases: tuple[str, ...] = ()
    demonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mention:
    """An actor found in a text: its canonical name, the word position and how many words the alias spans."""

    name: str
    start: int
    length: int


@dataclass(frozen=True)
class _Entry:
    rest: tuple[str, ...]  # the alias's words after the first
    actor: str | None  # None: an ignore phrase
    article: str  # "required", "forbidden" or "optional" on the first word


@dataclass
class ActorTagger:
    """Find gazetteer actors in texts (see the module docstring for the matching rules)."""

    actors: dict[str, Actor]
    ignore: tuple[str, ...] = ()
    _index: dict[str, list[_Entry]] = field(default_factory=dict, repr=False)
    _cache: dict[str, list[tuple[_Entry, str]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for actor in self.actors.values():
            for alias in actor.aliases:
                self._add(alias, actor.name, demonym=False)
            for demonym in actor.demonyms:
                for form in _demonym_forms(demonym):
                    self._add(form, actor.name, demonym=True)
        for phrase in self.ignore:
            self._add(phrase, None, demonym=True)

    @classmethod
    def load(cls, path: str | Path | None = None) -> ActorTagger:
        """The packaged gazetteer, or a JSON file of the same shape."""
        if path is None:
            return _default_tagger()
        return cls.from_dict(_read_json(Path(path)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ActorTagger:
        actors: dict[str, Actor] = {}
        for item in data.get("actors", []):
            name = item["name"]
            if name in actors:
                raise StanceError(f"actor gazetteer: {name!r} is listed twice")
            actors[name] = Actor(
                name=name,
                type=item.get("type", ""),
                aliases=tuple(item.get("aliases", [])),
                demonyms=tuple(item.get("demonyms", [])),
            )
        return cls(actors=actors, ignore=tuple(data.get("ignore", [])))

    def _add(self, alias: str, actor: str | None, demonym: bool) -> None:
        tokens = words(alias)
        if not tokens:
            return
        first, rest = tokens[0], tuple(tokens[1:])
        if demonym:
            self._index.setdefault(first, []).append(_Entry(rest, actor, "optional"))
        elif first.startswith(_ARTICLE) and len(first) - len(_ARTICLE) >= _MIN_STEM:
            self._index.setdefault(first[len(_ARTICLE) :], []).append(_Entry(rest, actor, "required"))
            # after a preposition the written form keeps its alef: لالمانيا (لألمانيا) is ل + المانيا
            self._index.setdefault(first, []).append(_Entry(rest, actor, "forbidden"))
        else:
            self._index.setdefault(first, []).append(_Entry(rest, actor, "forbidden"))

    def _candidates(self, token: str) -> list[tuple[_Entry, str]]:
        """Entries whose first word is ``token`` less its clitics."""
        hit = self._cache.get(token)
        if hit is not None:
            return hit
        found = []
        for prefix, has_article in _PREFIXES:
            if len(token) - len(prefix) < _MIN_STEM:
                break
            if not token.startswith(prefix):
                continue
            for entry in self._index.get(token[len(prefix) :], ()):
                if entry.article == "required" and not has_article:
                    continue
                if entry.article == "forbidden" and has_article:
                    continue
                found.append((entry, prefix))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[token] = found
        return found

    def mentions(self, text: str) -> list[Mention]:
        """Every actor mention in ``text``, in order (the longest alias wins at each word)."""
        if not text:
            return []
        tokens = words(text)
        out: list[Mention] = []
        i = 0
        while i < len(tokens):
            best: tuple[int, str | None] | None = None
            for entry, _ in self._candidates(tokens[i]):
                n = len(entry.rest)
                if best is not None and n + 1 <= best[0]:
                    continue
                if tuple(tokens[i + 1 : i + 1 + n]) == entry.rest:
                    best = (n + 1, entry.actor)
            if best is None:
                i += 1
                continue
            length, actor = best
            if actor is not None:
                out.append(Mention(actor, i, length))
            i += length
        return out

    def tag(self, text: str) -> list[str]:
        """Canonical names of the actors in ``text``, each once, in order of first mention."""
        return list(dict.fromkeys(m.name for m in self.mentions(text)))

    def tag_many(self, texts: list[str]) -> list[list[str]]:
        return [self.tag(t) if isinstance(t, str) else [] for t in texts]

    def resolve(self, name: str) -> str:
        """The canonical name for a canonical name (any case) or an Arabic alias; StanceError if unknown."""
        wanted = name.strip()
        for canonical in self.actors:
            if canonical.casefold() == wanted.casefold():
                return canonical
        found = self.tag(wanted)
        if len(found) == 1:
            return found[0]
        close = [c for c in self.actors if wanted.casefold()[:3] and c.casefold().startswith(wanted.casefold()[:3])]
        hint = f" (did you mean {', '.join(close[:5])}?)" if close else ""
        raise StanceError(f"unknown actor {name!r}{hint}: use a canonical name such as 'Russia' or an Arabic alias")


def _demonym_forms(demonym: str) -> list[str]:
    """Feminine, plural and dual forms of a (possibly multi-word) masculine nisba, each word inflected alike."""
    tokens = words(demonym)
    if not tokens:
        return []
    forms = []
    for suffix in _DEMONYM_SUFFIXES:
        inflected = [t + suffix if t.endswith("ي") else t for t in tokens]
        forms.append(" ".join(inflected))
        if len(inflected) > 1:  # الكوري الشمالي: later words carry the article too
            forms.append(" ".join(inflected[:1] + [_ARTICLE + t for t in inflected[1:]]))
    return forms


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise StanceError(f"{path}: no such actor gazetteer")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StanceError(f"{path}: not a valid JSON gazetteer ({exc})") from None


@lru_cache(maxsize=1)
def _default_tagger() -> ActorTagger:
    return ActorTagger.from_dict(_read_json(GAZETTEER_PATH))


def tag_actors(texts: str | list[str]) -> list[str] | list[list[str]]:
    """Actors (canonical names, first-mention order) in one text, or one list per text."""
    tagger = _default_tagger()
    if isinstance(texts, str):
        return tagger.tag(texts)
    return tagger.tag_many(list(texts))
