"""Rendering a report as one self-contained HTML page (figures embedded as PNG)."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from typing import Any, List, Tuple

import pandas as pd

_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #1d2433; line-height: 1.45; padding: 0 1rem; }
h1 { border-bottom: 3px solid #2f6fde; padding-bottom: .3rem; }
h2 { margin-top: 2.5rem; color: #2f6fde; }
table { border-collapse: collapse; margin: .8rem 0 1.4rem; font-size: .88rem; }
th, td { border: 1px solid #d5dbe5; padding: .25rem .55rem; text-align: right; }
th { background: #eef2f9; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1rem 0; } figcaption { font-size: .85rem; color: #5b6475; }
img { max-width: 100%; }
.takeaway { background: #f4f8ff; border-left: 4px solid #2f6fde; padding: .6rem 1rem; }
nav a { margin-right: .8rem; }
"""


@dataclass
class Section:
    """One section of the report: prose, tables and figures, in that order."""

    key: str
    title: str
    paragraphs: List[str] = field(default_factory=list)
    tables: List[Tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: List[Tuple[str, bytes]] = field(default_factory=list)


def figure_png(fig: Any) -> bytes:
    """A matplotlib figure as PNG bytes; the figure is closed."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _table_html(frame: pd.DataFrame) -> str:
    return frame.to_html(float_format=lambda x: f"{x:,.3f}" if abs(x) < 10 else f"{x:,.1f}", border=0,
                         na_rep="")


def render(title: str, subtitle: str, sections: List[Section]) -> str:
    """The whole page."""
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{_CSS}</style></head><body>", f"<h1>{html.escape(title)}</h1>",
             f"<p>{html.escape(subtitle)}</p>",
             "<nav>" + "".join(f"<a href='#{s.key}'>{html.escape(s.title)}</a>" for s in sections) + "</nav>"]
    for s in sections:
        parts.append(f"<section id='{s.key}'><h2>{html.escape(s.title)}</h2>")
        for i, p in enumerate(s.paragraphs):
            cls = " class='takeaway'" if i == 0 else ""
            parts.append(f"<p{cls}>{html.escape(p)}</p>")
        for caption, png in s.figures:
            data = base64.b64encode(png).decode("ascii")
            parts.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        for caption, frame in s.tables:
            parts.append(f"<h3>{html.escape(caption)}</h3>{_table_html(frame)}")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
