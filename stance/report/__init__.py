"""Reports: label shares over time, per outlet, per actor and actor pair (HTML page, PNG plots, summary.json)."""

from stance._lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {"ReportConfig": "build", "build_report": "build", "parse_date": "dates", "period_key": "dates"},
)
