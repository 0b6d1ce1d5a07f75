"""The monthly client report as HTML that stands alone (inline CSS and SVG charts drawn
by pygal, no script, nothing fetched) or as text for a terminal."""

from __future__ import annotations

import re
import sys
from importlib.resources import files
from typing import Any

import jinja2
import pygal
from markupsafe import Markup
from pygal.style import Style

from whisperer.cli.output import pairs

# pygal appends a legacy import hook (find_module only, for its map plugins, which we do not
# use) to sys.meta_path at import. Every later import that no other finder resolves then
# reaches it and raises ImportWarning, which breaks imports that probe (zoneinfo's tzdata
# lookup, lazy SDK imports) wherever warnings are errors: take it out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

Report = dict[str, Any]
STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#333",
    foreground_strong="#111",
    foreground_subtle="#777",
    colors=("#2b6cb0", "#c53030", "#2f855a", "#b7791f"),
    font_family="sans-serif",
)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


def _svg(chart: Any) -> str:
    """A pygal chart as inline SVG without pygal's script (nothing runs in the report)."""
    svg = chart.render(is_unicode=True)
    return _SCRIPT.sub("", str(svg))


def _chart_options() -> dict[str, Any]:
    return {
        "style": STYLE,
        "js": [],
        "disable_xml_declaration": True,
        "show_legend": False,
        "height": 300,
        "width": 720,
    }


def weekly_chart(report: Report) -> str:
    weeks = report["incidents"]["perWeek"]
    chart = pygal.Bar(title="Incidents per week", **_chart_options())
    chart.x_labels = [w["week"] for w in weeks]
    chart.add("incidents", [w["count"] for w in weeks])
    return _svg(chart)


def severity_chart(report: Report) -> str:
    by = report["incidents"]["bySeverity"]
    chart = pygal.HorizontalBar(title="Incidents by severity", **_chart_options())
    chart.x_labels = list(by)
    chart.add("incidents", list(by.values()))
    return _svg(chart)


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def minutes(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value < 120:
        return f"{value:.0f} min"
    return f"{value / 60:.1f} h"


def html(report: Report) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["percent"] = percent
    env.filters["minutes"] = minutes
    source = files("whisperer.cli.output").joinpath("templates/report.html.j2").read_text()
    template = env.from_string(source)
    return template.render(
        r=report,
        weekly=Markup(weekly_chart(report)),
        severity=Markup(severity_chart(report)),
    )


def _tally(t: dict[str, Any]) -> str:
    return f"{percent(t['compliance'])} met ({t['met']} met, {t['breached']} breached)"


def text(report: Report) -> str:
    sla, noise, auto = report["sla"], report["noise"], report["automation"]
    incidents = report["incidents"]
    head = pairs(
        [
            ("company", f"{report['displayName']} ({report['company']})"),
            ("month", report["month"] + ("" if report["final"] else " (so far)")),
            ("incidents", f"{incidents['total']} ({incidents['resolved']} resolved)"),
            ("response sla", _tally(sla["response"])),
            ("resolution sla", _tally(sla["resolution"])),
            ("mtta", minutes(report["mttaMinutes"]["all"])),
            ("mttr", minutes(report["mttrMinutes"]["all"])),
            (
                "noise reduction",
                f"{percent(noise['reduction'])} "
                f"({noise['alerts']} alerts -> {noise['incidents']} incidents)",
            ),
            (
                "self-healed",
                f"{auto['selfHealedIncidents']} incidents ({percent(auto['selfHealedRate'])}), "
                f"{auto['runs']} runs",
            ),
            ("escalations", str(report["escalations"]["incidents"])),
        ]
    )
    lines = [head, "", "By severity:   MTTA        MTTR        incidents"]
    for sev, count in report["incidents"]["bySeverity"].items():
        lines.append(
            f"  {sev:<12} {minutes(report['mttaMinutes'].get(sev)):<11} "
            f"{minutes(report['mttrMinutes'].get(sev)):<11} {count}"
        )
    lines.append("")
    lines.append("Incidents per week:")
    top = max([w["count"] for w in report["incidents"]["perWeek"]] + [1])
    for w in report["incidents"]["perWeek"]:
        bar = "#" * round(30 * w["count"] / top)
        lines.append(f"  {w['week']}  {bar} {w['count']}")
    for title, key in (
        ("Noisiest assets:", "noisiestAssets"),
        ("Noisiest signals:", "noisiestSignals"),
    ):
        if report[key]:
            lines.append("")
            lines.append(title)
            lines += [f"  {r['name']:<32} {r['alerts']} alerts" for r in report[key]]
    if report["majorIncidents"]:
        lines.append("")
        lines.append("Major incidents:")
        for m in report["majorIncidents"]:
            lines.append(
                f"  {m['priority'] or '-':<3} {m['name']}  {m['title']}  "
                f"opened {m['openedAt']}, resolved {m['resolvedAt'] or '-'}"
            )
    lines.append("")
    lines.append(f"(from the {report['source']}, computed {report['computedAt']})")
    return "\n".join(lines)
