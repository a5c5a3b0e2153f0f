"""Rendering a report as one self-contained HTML page (figures embedded as PNG)."""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field
from typing import Any, List, Tuple

import pandas as pd

_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 1.5rem auto;
       max-width: 1000px; color: #1d2433; line-height: 1.45; padding: 0 1rem; overflow-wrap: anywhere; }
h1 { border-bottom: 3px solid #2f6fde; padding-bottom: .3rem; font-size: 1.6rem; }
h2 { margin-top: 2.5rem; color: #2f6fde; }
h3 { font-size: 1rem; margin-bottom: .2rem; }
.table { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: .4rem 0 1.4rem; font-size: .88rem; }
th, td { border: 1px solid #d5dbe5; padding: .25rem .55rem; text-align: left; overflow-wrap: normal; }
th { background: #eef2f9; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; } figcaption { font-size: .85rem; color: #5b6475; }
img { max-width: 100%; height: auto; }
.takeaway { background: #f4f8ff; border-left: 4px solid #2f6fde; padding: .6rem 1rem; font-size: 1.05rem; }
nav a { margin-right: .8rem; display: inline-block; }
@media (max-width: 600px) { body { padding: 0 .6rem; } table { font-size: .78rem; } th, td { padding: .2rem .3rem; } }
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
    """A matplotlib figure (made without pyplot) as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


#: A cell that reads as a number (a count, money with its currency, a percentage): right-aligned.
_NUMBER = re.compile(r"-?(\S{0,3} ?)?[\d,.]+(%|e[+-]\d+)?|∞")


def _table_html(frame: pd.DataFrame) -> str:
    """A table the section formatted already (strings with human headers): numbers right, text left;
    a table wider than a phone scrolls inside its box."""
    frame = frame.reset_index()
    cells = frame.astype(str).to_numpy()
    numeric = [bool(len(cells)) and all(_NUMBER.fullmatch(v) or v == "" for v in cells[:, j])
               for j in range(cells.shape[1])]
    cls = lambda j: " class='num'" if numeric[j] else ""  # noqa: E731
    head = "".join(f"<th{cls(j)}>{html.escape(str(c))}</th>" for j, c in enumerate(frame.columns))
    body = "".join("<tr>" + "".join(f"<td{cls(j)}>{html.escape(v)}</td>" for j, v in enumerate(row)) + "</tr>"
                   for row in cells)
    return f"<div class='table'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def render(title: str, subtitle: str, sections: List[Section]) -> str:
    """The whole page."""
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
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
