"""The Ray engine's `actors` column (--tag-actors), on a real local Ray instance."""

from __future__ import annotations

import csv

import pytest

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")


def test_ray_output_has_an_actors_column(tiny_model, tmp_path):
    from stance.scale.ray_engine import RayJobConfig, classify_with_ray

    src = tmp_path / "in.csv"
    rows = [("s1", "فرضت الولايات المتحدة عقوبات جديدة على روسيا"), ("s2", "جلسة يوم الاثنين"), ("s3", "")]
    with src.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([("id", "text"), *rows])
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        config = RayJobConfig(model=str(tiny_model), precision="fp32", tag_actors=True)
        classify_with_ray(src, tmp_path / "out", config)
    finally:
        ray.shutdown()
    table = pq.read_table(sorted(str(p) for p in (tmp_path / "out").glob("*.parquet")))
    out = {r["id"]: r for r in table.to_pylist()}
    assert out["s1"]["actors"] == ["United States", "Russia"]
    assert out["s2"]["actors"] == [] and out["s3"]["actors"] == [] and out["s3"]["error"] == "empty text"
