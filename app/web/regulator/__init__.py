"""The regulator's pages (``dashboard``, ``records``; ``views`` and ``words`` behind them): the
dashboard: the reported figures as charts and tables, the fraud indicators with
links to their evidence, audit exports and certificate lookup.

Regulators see every institution (with a filter); an institution's staff see the same page for
their own institution. The figures come from :mod:`app.reports.statistics`, the indicators from
:mod:`app.reports.service`, the exports from :mod:`app.audit.export` — the same code the REST
API runs, so the page and the API always agree. Charts are drawn by the vendored Chart.js
(``static/vendor/``) from a JSON block; every chart has the same figures as a table beside it.
"""

from app.web.regulator.words import (
    CHART_TITLES,
    COUNT_NAMES,
    EVIDENCE_KINDS,
    FINDING_TEXTS,
    INDICATOR_EXPLANATIONS,
    OUTCOMES,
    PURPOSES,
    RULE_NAMES,
    TEXTS,
)

__all__ = [
    "CHART_TITLES",
    "COUNT_NAMES",
    "EVIDENCE_KINDS",
    "FINDING_TEXTS",
    "INDICATOR_EXPLANATIONS",
    "OUTCOMES",
    "PURPOSES",
    "RULE_NAMES",
    "TEXTS",
]
