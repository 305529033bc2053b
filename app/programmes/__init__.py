"""Subsidy programmes under the regulator's control: administrative regions and jurisdictions,
the institution registry, subsidy standards and the eligibility rules they carry (issue 16)."""
