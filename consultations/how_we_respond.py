"""The consultations section of the public "How we respond" page.

The page (its URL, form and cache) belongs to petitions, which must not import consultations: the composition
root (`app/main.py`) lists this provider in `app.state.how_we_respond_sections`, as it lists `home_section` for
the home page, and the page renders every listed section with its own template.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from app.charts import multi_line_chart
from app.i18n import format_date
from app.i18n import gettext as _

from . import accountability


def charts(report: accountability.ConsultationReport) -> dict:
    """The weekly trend drawn (the page puts the same numbers in a table beside it); none when nothing happened."""
    weeks = report.weeks
    if not any(w.outcomes or w.waiting for w in weeks):
        return {}
    labels = [format_date(w.start) for w in weeks]
    return {"weekly": multi_line_chart(
        labels, [(_("Outcomes published"), [w.outcomes for w in weeks]),
                 (_("Waiting for an outcome"), [w.waiting for w in weeks])],
        title=_("Consultation outcomes per week"),
        description=_("For each of the last %(n)s weeks, oldest first: outcomes published in the week, and "
                      "consultations closed without an outcome at the week's end.", n=len(weeks)))}


def section(session: Session, *, as_of: date, department: str = "", now: datetime | None = None) -> dict | None:
    """The template and context of the section; None when `department` names no department (the page says so)."""
    report = accountability.consultation_report(session, as_of=as_of, department=department, now=now)
    if report is None:
        return None
    return {"template": "consultations/_how_we_respond.html", "anchor": "consultations", "title": _("Consultations"),
            "report": report, "charts": charts(report)}
