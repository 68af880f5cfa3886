"""What is on disk: the shipped models (with their dev figures) and the user's cache (bases, merged weights, ONNX)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stance.modeling.folder import STANCE_CONFIG


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def describe_model(folder: Path) -> dict[str, Any]:
    """Name, task, labels, base, size, dev figures (``metrics.json``) and cache state of one model folder."""
    from stance.modeling.ready import entry_path

    settings = json.loads((folder / STANCE_CONFIG).read_text(encoding="utf-8"))
    try:
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        metrics = {}
    dev = {k: metrics[k] for k in ("macro_f1", "accuracy", "n") if k in metrics}
    if isinstance(metrics.get("f1_over"), dict):
        dev["f1_over"] = metrics["f1_over"]
    if isinstance(metrics.get("dev_sets"), dict) and len(metrics["dev_sets"]) > 1:  # several named dev sets
        dev["sets"] = {
            name: {k: part[k] for k in ("macro_f1", "accuracy", "n") if k in part}
            for name, part in metrics["dev_sets"].items()
            if isinstance(part, dict)
        }
        dev["selected_on"] = metrics.get("selected_on")
    entry = entry_path(folder)
    return {
        "name": folder.name,
        "path": str(folder),
        "task": settings.get("task", ""),
        "labels": settings.get("labels", []),
        "base": settings.get("base_model", ""),
        "adapter": bool(settings.get("adapter")),
        "lexical": (folder / "lexical").is_dir(),
        "bytes": folder_bytes(folder),
        "dev": dev,
        "merged_cache": str(entry) if entry.is_dir() else None,
    }


def shipped_models() -> list[dict[str, Any]]:
    """Every model folder in the shipped models folder (``stance``, ``sentiment``, ...)."""
    from stance.modeling.shipped import models_dir

    root = models_dir()
    if not root.is_dir():
        return []
    return [describe_model(p) for p in sorted(root.iterdir()) if (p / STANCE_CONFIG).is_file()]


def cache_contents() -> dict[str, Any]:
    """The cache folder and what is in it: built bases, merged-weights entries and ONNX exports, with sizes."""
    from stance.modeling.e5 import cache_root
    from stance.modeling.ready import entries, merged_root

    root = cache_root()
    bases = []
    if root.is_dir():
        for path in sorted(root.iterdir()):
            if path.is_dir() and (path / "stance_base.json").is_file():
                meta = json.loads((path / "stance_base.json").read_text(encoding="utf-8"))
                bases.append({"name": meta.get("name", path.name), "path": str(path), "bytes": folder_bytes(path)})
    merged = [{**e, "path": str(e["path"])} for e in entries()]
    onnx_root = root / "onnx"
    onnx = []
    if onnx_root.is_dir():
        onnx = [{"path": str(p), "bytes": folder_bytes(p)} for p in sorted(onnx_root.iterdir()) if p.is_dir()]
    return {"root": str(root), "merged_root": str(merged_root()), "bases": bases, "merged": merged, "onnx": onnx}


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def format_inventory(models: list[dict[str, Any]], cache: dict[str, Any]) -> str:
    """The ``stance models`` listing as text."""
    lines = ["shipped models:"]
    if not models:
        lines.append("  (none found: set STANCE_MODELS_DIR or use a source checkout)")
    for m in models:
        dev = m["dev"]
        figures = (
            f"dev macro-F1 {dev['macro_f1']:.3f}, accuracy {dev['accuracy']:.3f} on {dev.get('n', '?')} rows"
            if "macro_f1" in dev and "accuracy" in dev
            else "no dev figures"
        )
        if "f1_over" in dev:
            f1 = dev["f1_over"]
            figures += f", F1 over {'/'.join(f1.get('labels', []))} {f1.get('f1', float('nan')):.3f}"
        if dev.get("sets"):
            figures = "dev macro-F1 " + ", ".join(
                f"{name} {part['macro_f1']:.3f} ({part.get('n', '?')} rows)"
                for name, part in dev["sets"].items()
                if "macro_f1" in part
            )
            if dev.get("selected_on"):
                figures += f"; checkpoint chosen on {dev['selected_on']}"
        halves = "neural + lexical" if m["lexical"] else "neural"
        lines.append(f"  {m['name']:<10} {m['task'] or '-':<10} {', '.join(m['labels'])}")
        lines.append(f"  {'':<10} {figures}")
        lines.append(
            f"  {'':<10} base {m['base']}, {halves}, {_size(m['bytes'])} on disk, "
            f"fast-start cache {'ready' if m['merged_cache'] else 'not built yet (built on first use)'}"
        )
    lines.append(f"\ncache ({cache['root']}):")
    if not (cache["bases"] or cache["merged"] or cache["onnx"]):
        lines.append("  empty (bases are built on first use)")
    for b in cache["bases"]:
        lines.append(f"  base    {b['name']:<12} {_size(b['bytes']):>9}  {b['path']}")
    for e in cache["merged"]:
        lines.append(f"  merged  {Path(e['source']).name:<12} {_size(e['bytes']):>9}  {e['path']}")
    for o in cache["onnx"]:
        lines.append(f"  onnx    {'':<12} {_size(o['bytes']):>9}  {o['path']}")
    if cache["bases"] or cache["merged"] or cache["onnx"]:
        lines.append("  (everything here is rebuilt when needed: delete the folder to free the space)")
    return "\n".join(lines)
