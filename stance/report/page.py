"""The report page: one self-contained ``index.html`` (inline CSS, no scripts, no external requests).

Statements and names are HTML-escaped and wrapped in ``dir="auto"`` / ``dir="rtl"``
elements, so Arabic text keeps its direction inside the English page.
"""

from __future__ import annotations

from html import escape
from typing import Any

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Naskh Arabic","DejaVu Sans",sans-serif;
margin:0;background:#f6f7f9;color:#1d2430}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin-top:36px;border-bottom:2px solid #d7dbe0;padding-bottom:4px}
.sub{color:#5f6b7a;margin:0 0 16px}
table{border-collapse:collapse;margin:8px 0 16px;background:#fff;font-size:14px}
th,td{border:1px solid #d7dbe0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef0f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;background:#fff;border:1px solid #d7dbe0;margin:8px 0}
.ar{font-family:"Noto Naskh Arabic","Amiri","Scheherazade New","DejaVu Sans",serif;font-size:16px;line-height:1.7}
.note{color:#5f6b7a;font-size:13px}
.hostile{color:#c0392b}.conciliatory{color:#2e8b57}
"""


def _pct(share: float) -> str:
    return f"{share:.1%}"


def _label_table(rows: list[dict[str, Any]], key: str, title: str, labels: list[str], bidi: bool = False) -> str:
    head = "".join(f"<th>{escape(lab)}</th>" for lab in labels)
    out = [f"<table><thead><tr><th>{escape(title)}</th><th>n</th>{head}</tr></thead><tbody>"]
    for row in rows:
        name = row[key]
        name = " × ".join(name) if isinstance(name, list) else str(name)
        cell = f'<td dir="auto">{escape(name)}</td>' if bidi else f"<td>{escape(name)}</td>"
        counts = "".join(f'<td class="num">{row["counts"][lab]} ({_pct(row["shares"][lab])})</td>' for lab in labels)
        out.append(f'<tr>{cell}<td class="num">{row["n"]}</td>{counts}</tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _image(plots: dict[str, str], section: str, alt: str) -> str:
    name = plots.get(section)
    return f'<img src="{escape(name)}" alt="{escape(alt)}">' if name else ""


def render(summary: dict[str, Any], plots: dict[str, str], limit: int = 30) -> str:
    """The whole page as a string."""
    labels = summary["labels"]
    total = summary["total"]
    parts = [
        '<!doctype html><html lang="en" dir="ltr"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>arabic-stance report</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<h1>Stance report</h1>",
        f'<p class="sub">Input: <code dir="auto">{escape(summary["input"])}</code> · model labels: '
        f"{escape(', '.join(labels))} · {escape(summary['label_source'])}</p>",
        "<h2>Rows</h2>",
        "<table><tbody>",
        f'<tr><th>rows read</th><td class="num">{summary["rows_read"]}</td></tr>',
        f'<tr><th>rows in the report</th><td class="num">{summary["rows_used"]}</td></tr>',
        f'<tr><th>rows mentioning at least one actor</th><td class="num">{summary["rows_with_actors"]}</td></tr>',
    ]
    for reason, n in summary["skipped"].items():
        parts.append(f'<tr><th>skipped: {escape(reason)}</th><td class="num">{n}</td></tr>')
    parts.append("</tbody></table>")
    parts.append(_label_table([{"name": "all rows", **total}], "name", "", labels))
    for note in summary.get("notes", []):
        parts.append(f'<p class="note">{escape(note)}</p>')

    if summary["periods"]:
        parts.append(f"<h2>Over time (per {escape(summary['period'])})</h2>")
        parts.append(_image(plots, "periods", "label shares per period"))
        parts.append(_label_table(summary["periods"], "period", summary["period"], labels))
    if summary["groups"]:
        parts.append(f"<h2>Per {escape(summary['group_column'])}</h2>")
        parts.append(_image(plots, "groups", f"label shares per {summary['group_column']}"))
        parts.append(_label_table(summary["groups"][:limit], "group", summary["group_column"], labels, bidi=True))
        if len(summary["groups"]) > limit:
            parts.append(f'<p class="note">{len(summary["groups"]) - limit} more in summary.json</p>')
    if summary["actors"]:
        parts.append("<h2>Per actor mentioned</h2>")
        parts.append(_image(plots, "actors", "label shares per actor"))
        parts.append(_label_table(summary["actors"][:limit], "actor", "actor", labels))
    if summary["pairs"]:
        parts.append("<h2>Actor pairs mentioned in one statement</h2>")
        parts.append(_image(plots, "pairs", "heat map of the hostile share per actor pair"))
        parts.append(_label_table(summary["pairs"][:limit], "actors", "actors", labels))
    if "timelines" in plots:
        parts.append("<h2>Actors over time</h2>")
        parts.append(_image(plots, "timelines", "share per actor over time"))
    extremes = [e for e in summary["extremes"] if any(e.get(f"most_{lab}") for lab in labels)]
    if extremes:
        parts.append("<h2>Strongest statements per period</h2>")
        for entry in extremes:
            parts.append(f"<h3>{escape(entry['period'])}</h3>")
            for lab in labels:
                items = entry.get(f"most_{lab}") or []
                if not items:
                    continue
                parts.append(f'<p><strong class="{escape(lab)}">most {escape(lab)}</strong></p><table><tbody>')
                for item in items:
                    ident = f"<br><small>{escape(str(item['id']))}</small>" if item.get("id") not in (None, "") else ""
                    parts.append(
                        f'<tr><td class="num">{item["score"]:.3f}</td>'
                        f'<td class="ar" dir="rtl" lang="ar">{escape(item["text"] or "(no text column)")}{ident}</td></tr>'
                    )
                parts.append("</tbody></table>")
    parts.append(
        '<p class="note">Every share is shown with its n. Files: <a href="summary.json">summary.json</a> '
        "(all figures).</p></main></body></html>"
    )
    return "\n".join(p for p in parts if p)
