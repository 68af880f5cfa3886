"""Arabic text normalisation, configurable and saved with each model.

The same :class:`Normalizer` runs at training and at inference time: training
records its :class:`NormalizationConfig` in the model folder and
:class:`stance.Classifier` rebuilds it from there, so a statement is always
seen the way the model was trained to see it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, fields
from typing import Any

# Harakat, tanween, shadda, sukun, superscript alef and Quranic annotation marks.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_TATWEEL = "\u0640"
# Bidi embeddings/overrides/isolates and marks, zero-width characters, BOM.
_BIDI_AND_ZW = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff\u00ad]")
_CONTROL = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w+")
_SPACES = re.compile(r"\s+")
_ALEF_VARIANTS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا"})
_YA_VARIANTS = str.maketrans({"ى": "ي"})
_TA_MARBUTA = str.maketrans({"ة": "ه"})
# Arabic-Indic and Eastern Arabic-Indic digits to ASCII.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


@dataclass
class NormalizationConfig:
    """Which normalisation steps to apply.

    Attributes:
        remove_diacritics: drop harakat, tanween, shadda and sukun.
        remove_tatweel: drop the kashida (ـ) used to stretch words.
        normalize_alef: map أ إ آ ٱ to ا (off by default: pretrained encoders
            saw hamza spelled both ways and keep the distinction).
        normalize_ya: map alef maqsura ى to ي (off by default, as above).
        normalize_ta_marbuta: map ة to ه (off by default: it loses information
            that pretrained encoders use; turn on for pre-normalised data such as
            MARSA).
        normalize_digits: map Arabic-Indic digits to ASCII.
        replace_urls: replace URLs with ``url_token`` (an empty token removes them).
        replace_mentions: replace @mentions with ``mention_token``.
        remove_bidi_controls: drop bidi controls, zero-width characters and BOMs.
        remove_control_chars: drop C0/C1 control characters (tab and newline become spaces).
        collapse_whitespace: collapse runs of whitespace and strip the ends.
        unicode_nfkc: apply NFKC first (folds Arabic presentation forms).
    """

    remove_diacritics: bool = True
    remove_tatweel: bool = True
    normalize_alef: bool = False
    normalize_ya: bool = False
    normalize_ta_marbuta: bool = False
    normalize_digits: bool = False
    replace_urls: bool = True
    url_token: str = "رابط"
    replace_mentions: bool = True
    mention_token: str = "@مستخدم"
    remove_bidi_controls: bool = True
    remove_control_chars: bool = True
    collapse_whitespace: bool = True
    unicode_nfkc: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> NormalizationConfig:
        """Build from a saved dict, ignoring keys this version does not know."""
        if not data:
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def disabled(cls) -> NormalizationConfig:
        """A configuration that leaves text untouched except for whitespace."""
        return cls(**{f.name: False for f in fields(cls) if f.type in ("bool", bool)}, collapse_whitespace=True)


class Normalizer:
    """Apply a :class:`NormalizationConfig` to text.

    >>> Normalizer()("السَّلامُ   عليكم ـــ")
    'السلام عليكم'
    """

    def __init__(self, config: NormalizationConfig | None = None) -> None:
        self.config = config or NormalizationConfig()

    def __call__(self, text: str) -> str:
        c = self.config
        text = _SURROGATE.sub("", text)
        if c.unicode_nfkc:
            text = unicodedata.normalize("NFKC", text)
        if c.remove_bidi_controls:
            text = _BIDI_AND_ZW.sub("", text)
        if c.remove_control_chars:
            text = text.replace("\t", " ").replace("\r", " ")
            text = _CONTROL.sub("", text)
        if c.replace_urls:
            text = _URL.sub(f" {c.url_token} " if c.url_token else " ", text)
        if c.replace_mentions:
            text = _MENTION.sub(f" {c.mention_token} " if c.mention_token else " ", text)
        if c.remove_diacritics:
            text = _DIACRITICS.sub("", text)
        if c.remove_tatweel:
            text = text.replace(_TATWEEL, "")
        if c.normalize_alef:
            text = text.translate(_ALEF_VARIANTS)
        if c.normalize_ya:
            text = text.translate(_YA_VARIANTS)
        if c.normalize_ta_marbuta:
            text = text.translate(_TA_MARBUTA)
        if c.normalize_digits:
            text = text.translate(_DIGITS)
        if c.collapse_whitespace:
            text = _SPACES.sub(" ", text).strip()
        return text

    def batch(self, texts: list[str]) -> list[str]:
        return [self(t) for t in texts]
