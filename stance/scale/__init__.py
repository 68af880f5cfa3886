"""Scale-out: classifying large files and folders with a Ray cluster (optional extra ``[ray]``)."""

from stance._lazy import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {"RayJobConfig": "ray_engine", "classify_with_ray": "ray_engine"})
