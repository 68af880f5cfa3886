from stance.text.normalize import NormalizationConfig, Normalizer


def test_removes_diacritics_tatweel_and_bidi_controls():
    n = Normalizer()
    assert n("السَّلامُ عَلَيْكُمْ") == "السلام عليكم"
    assert n("مـــرحبا") == "مرحبا"
    assert n("\u202bموسكو\u202c \u200fواشنطن\ufeff") == "موسكو واشنطن"


def test_urls_mentions_and_whitespace():
    n = Normalizer()
    assert n("انظر https://example.com/a?b=1  و @user_1\n\tهنا") == "انظر رابط و @مستخدم هنا"


def test_letter_variants_are_configurable():
    text = "أعلنت إيران آلية مستشفى الدولة"
    assert Normalizer()(text) == text  # off by default: pretrained encoders keep the distinction
    folded = Normalizer(NormalizationConfig(normalize_alef=True, normalize_ya=True, normalize_ta_marbuta=True))
    assert folded(text) == "اعلنت ايران اليه مستشفي الدوله"


def test_presentation_forms_and_controls():
    assert Normalizer()("\ufefb\u0007") == "لا"


def test_config_round_trip_ignores_unknown_keys():
    config = NormalizationConfig(normalize_alef=True, url_token="")
    again = NormalizationConfig.from_dict(config.to_dict() | {"from_the_future": 1})
    assert again == config
    assert Normalizer(again)("زر www.x.org الآن") == "زر الان"


def test_lone_surrogates_are_dropped():
    assert Normalizer()("نص\ud800سليم") == "نصسليم"
