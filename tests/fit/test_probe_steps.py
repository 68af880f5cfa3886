"""LP-FT: ``probe_steps`` trains the classification head alone first, then everything."""

from __future__ import annotations

from conftest import train_tiny


def _encoder_weights(folder):
    from safetensors.numpy import load_file

    weights = load_file(str(folder / "model.safetensors"))
    return {k.removeprefix("bert."): v for k, v in weights.items() if ".encoder." in "." + k}


def test_the_probe_phase_leaves_the_encoder_as_it_was(tmp_path, tiny_base, toy_files):
    train_tiny(tiny_base, toy_files, tmp_path / "probed", probe_steps=8, max_steps=8, epochs=1)
    base = _encoder_weights(tiny_base)
    probed = _encoder_weights(tmp_path / "probed")
    assert probed.keys() == base.keys() and base
    assert all((probed[k] == base[k]).all() for k in base)  # only the pooler and classifier moved


def test_probe_then_tune_learns_and_moves_the_encoder(tmp_path, tiny_base, toy_files):
    report = train_tiny(tiny_base, toy_files, tmp_path / "lpft", probe_steps=8)
    assert report["macro_f1"] >= 0.9, report["macro_f1"]
    base = _encoder_weights(tiny_base)
    tuned = _encoder_weights(tmp_path / "lpft")
    assert any(not (tuned[k] == base[k]).all() for k in base)


def test_a_run_interrupted_in_the_probe_phase_resumes_to_the_same_model(tmp_path, tiny_base, toy_files):
    from safetensors.numpy import load_file

    straight = train_tiny(tiny_base, toy_files, tmp_path / "a", probe_steps=6, epochs=2, save_steps=3)
    assert train_tiny(tiny_base, toy_files, tmp_path / "b", probe_steps=6, epochs=2, save_steps=3, stop_after=4) is None
    resumed = train_tiny(tiny_base, toy_files, tmp_path / "b", probe_steps=6, epochs=2, save_steps=3, resume=True)
    assert resumed["macro_f1"] == straight["macro_f1"]
    a = load_file(str(tmp_path / "a" / "model.safetensors"))
    b = load_file(str(tmp_path / "b" / "model.safetensors"))
    assert max(abs(a[k] - b[k]).max() for k in a) < 1e-5
