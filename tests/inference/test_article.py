from stance.inference.article import split_sentences, summarise


def test_splits_on_arabic_punctuation_and_lines():
    text = "العنوان: موسكو تدعو للحوار\nقال الوزير إن بلاده مستعدة للتفاوض. وأضاف أن العقوبات مرفوضة؛ هل ستستجيب واشنطن؟ نعم!"
    assert split_sentences(text) == [
        "العنوان: موسكو تدعو للحوار",
        "قال الوزير إن بلاده مستعدة للتفاوض.",
        "وأضاف أن العقوبات مرفوضة؛",
        "هل ستستجيب واشنطن؟",
        "نعم!",
    ]


def test_quotes_are_kept_whole_and_decimals_not_split():
    text = 'قال: «نحن مستعدون. لكن بشروط.» ثم غادر. بلغ النمو 3.5 بالمئة. وقال "لن نتراجع. أبدا" أمس.'
    assert split_sentences(text) == [
        "قال: «نحن مستعدون. لكن بشروط.» ثم غادر.",
        "بلغ النمو 3.5 بالمئة.",
        'وقال "لن نتراجع. أبدا" أمس.',
    ]


def test_bullets_are_units_without_their_markers():
    assert split_sentences("- فرض عقوبات\n• ترحيب بالاتفاق\n1) جلسة الاثنين") == [
        "فرض عقوبات",
        "ترحيب بالاتفاق",
        "جلسة الاثنين",
    ]


def test_long_sentences_split_at_commas_only_when_parts_stand_alone():
    short = "قال الوزير، في مؤتمر صحفي، إن بلاده مستعدة."
    assert split_sentences(short) == [short]
    clause = "كلمة " * 12
    long = "،".join([clause.strip()] * 4) + "."
    parts = split_sentences(long)
    assert len(parts) == 4 and all(len(p.split()) >= 10 for p in parts)


def test_summary_counts_shares_and_extremes():
    sentences = [
        {"text": "a", "label": "hostile", "scores": {"conciliatory": 0.1, "hostile": 0.8, "neutral": 0.1}},
        {"text": "b", "label": "conciliatory", "scores": {"conciliatory": 0.7, "hostile": 0.1, "neutral": 0.2}},
        {"text": "c", "label": "hostile", "scores": {"conciliatory": 0.0, "hostile": 0.9, "neutral": 0.1}},
    ]
    s = summarise(sentences, ["conciliatory", "hostile", "neutral"])
    assert s["counts"] == {"conciliatory": 1, "hostile": 2, "neutral": 0}
    assert s["dominant"] == "hostile"
    assert s["most_hostile"]["text"] == "c" and s["most_conciliatory"]["text"] == "b"
    assert "most_neutral" not in s
    assert abs(sum(s["shares"].values()) - 1) < 1e-9
