"""The regulator's subsidy standards catalogue (补贴标准) and the staff's read-only view.

A thin layer over :mod:`app.programmes.standards` — the same calls as ``/api/v1/subsidy-standards``
(``visible``, ``set_standard``, ``confirm``, ``withdraw``, ``standard_in_force``), so the page and
the API answer alike. Plain forms with the CSRF field; a success redirects with a flash, a
refusal re-renders the page with the reason in words next to the form it concerns.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from app import clock
from app.accounts import service as accounts
from app.accounts.models import LearnerGroup, Role, User
from app.accounts.principal import Principal
from app.courses import catalogue
from app.courses.ledger import day_of
from app.db import attempt
from app.errors import DomainError, Forbidden
from app.http.session import SessionDep
from app.programmes import regions, retirement, standards
from app.programmes.exceptions import InvalidStandard
from app.programmes.kinds import PROGRAMME_NAMES_ZH, pays_individual
from app.programmes.models import (
    CertificateKind,
    ProgrammeKind,
    ResidenceKind,
    StandardStatus,
    SubsidyStandard,
)
from app.web.i18n import gettext, lang_of, message_for
from app.web.regulator.words import yuan_text
from app.web.render import GROUP_NAMES, error_page, not_staff, redirect, render, to_login
from app.web.session import PageUser, check_csrf

router = APIRouter(include_in_schema=False)

PAGE = "/regulator/standards"
STAFF_PAGE = "/staff/standards"

STATUS_NAMES: dict[str, str] = {
    StandardStatus.proposed.value: "待确认（由课程原补贴金额迁移）",
    StandardStatus.in_force.value: "已生效",
    StandardStatus.withdrawn.value: "已撤回",
}
PROGRAMME_NAMES: dict[str, str] = {k.value: v for k, v in PROGRAMME_NAMES_ZH.items()}
CERTIFICATE_NAMES: dict[str, str] = {
    CertificateKind.training_certificate.value: "培训合格证明",
    CertificateKind.skill_level.value: "职业技能等级证书",
    CertificateKind.special_ability.value: "专项职业能力证书",
    CertificateKind.special_operations.value: "特种作业操作证",
}
LEVEL_NAMES: dict[str, str] = standards.LEVEL_NAMES_ZH
BAD_FILTER_CODE = "筛选的职业编码无效：应为 X-XX-XX-XX（如 6-31-01-03）。"
#: The programme's rules (who it is for), as the form offers them and the catalogue shows them.
RESIDENCE_NAMES: dict[str, str] = {
    ResidenceKind.household.value: "户籍地",
    ResidenceKind.resident.value: "常住地",
    ResidenceKind.employed.value: "就业地",
}
BAD_NUMBER = "Ages and the yearly limit are whole numbers."


def _number(raw: str, field: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise InvalidStandard(BAD_NUMBER, field=field)
    return int(text)


def form_rules(
    target_groups: list[str],
    min_age: str,
    max_age: str,
    retirement_rule: str,
    residence_kinds: list[str],
    max_per_year: str,
) -> standards.ProgrammeRules:
    """The form's rule fields as the API's body carries them; the domain checks them
    (``ProgrammeRules.checked``: unknown groups, ages, rules and limits are refused in words)."""
    per_year = _number(max_per_year, "max_per_year")
    return standards.ProgrammeRules(
        target_groups=tuple(target_groups),
        min_age=_number(min_age, "min_age"),
        max_age=_number(max_age, "max_age"),
        retirement_rule=retirement_rule.strip() or None,
        residence_kinds=tuple(residence_kinds),
        max_per_year=per_year if per_year is not None else standards.ProgrammeRules().max_per_year,
    )


def rules_words(s: SubsidyStandard, lang: str) -> list[str]:
    """Who a standard's programme is for, line by line, in the page language."""
    t = gettext("en" if lang == "en" else "zh")
    out: list[str] = []
    if s.target_groups:
        names = [t(GROUP_NAMES[LearnerGroup(g)]) for g in s.target_groups]
        out.append(t("人员类别：") + "、".join(names))
    if s.min_age is not None or s.max_age is not None:
        low = s.min_age if s.min_age is not None else standards.MIN_AGE
        high = s.max_age if s.max_age is not None else standards.MAX_AGE
        out.append(t("年龄：%d–%d 周岁") % (low, high))
    if s.retirement_rule:
        rule = retirement.retirement_data()["rules"].get(s.retirement_rule, {})
        name = rule.get("name_en" if lang == "en" else "name_zh", s.retirement_rule)
        out.append(t("不含已达退休年龄者：") + str(name))
    if s.residence_kinds:
        out.append(
            t("户籍地、常住地或就业地在本地区：")
            + "、".join(t(RESIDENCE_NAMES[k]) for k in s.residence_kinds)
        )
    out.append(t("每人每年最多 %d 次") % s.max_per_year)
    if pays_individual(s.programme_kind):
        out.append(t("补贴发给个人（学员网上申领）"))
    return out


def _regulator(request: Request, user: User | None) -> Principal | Response:
    if user is None:
        return to_login(request)
    principal = Principal.of_user(user)
    if not principal.is_regulator or principal.jurisdiction is None:
        return error_page(request, user, Forbidden("Subsidy standards are set by regulators."))
    return principal


def _date(raw: str, field: str, *, required: bool = True) -> date | None:
    text = raw.strip()
    if not text and not required:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidStandard(f"{raw!r} is not a date (YYYY-MM-DD).", field=field) from None


@dataclass
class Filters:
    region: str = ""
    occupation_code: str = ""
    status: str = ""


def _filtered(rows: list[SubsidyStandard], f: Filters) -> list[SubsidyStandard]:
    """The catalogue narrowed by the filters (the rows themselves are the domain's)."""
    if f.region:
        rows = [r for r in rows if r.region_code == f.region]
    if f.occupation_code:
        rows = [r for r in rows if r.occupation_code == f.occupation_code]
    if f.status:
        rows = [r for r in rows if r.status.value == f.status]
    return rows


def _page(
    request: Request,
    user: User,
    principal: Principal,
    session: Session,
    *,
    status: int = 200,
    filters: Filters | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    f = filters or Filters()
    every = standards.visible(session, principal)
    jurisdiction = principal.jurisdiction or regions.NATIONAL
    own = regions.in_jurisdiction(session, jurisdiction)
    names = {r.code: regions.full_name(session, r.code) for r in own}
    for s in every:
        if s.region_code not in names:
            names[s.region_code] = regions.full_name(session, s.region_code)
    return render(
        request,
        "regulator_standards.html",
        user,
        status=status,
        rows=_filtered(every, f),
        total=len(every),
        filters=f,
        region_names=names,
        own_regions=[(r.code, names[r.code]) for r in own],
        owned={s.id for s in every if regions.within(s.region_code, jurisdiction)},
        status_names=STATUS_NAMES,
        programme_names=PROGRAMME_NAMES,
        certificate_names=CERTIFICATE_NAMES,
        level_names=LEVEL_NAMES,
        levels=standards.LEVELS,
        yuan=_yuan,
        rules_words=lambda s: rules_words(s, lang_of(request)),
        group_names={g.value: name for g, name in GROUP_NAMES.items()},
        residence_names=RESIDENCE_NAMES,
        retirement_names={
            key: rule["name_en" if lang_of(request) == "en" else "name_zh"]
            for key, rule in retirement.retirement_data()["rules"].items()
        },
        today=day_of(clock.now()).isoformat(),
        jurisdiction_name=regions.full_name(session, jurisdiction),
        errors=errors or {},
        values=values or {},
    )


def _yuan(fen: int) -> str:
    return yuan_text(fen)


@router.get(PAGE)
def standards_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    region: str = "",
    occupation_code: str = "",
    status: str = "",
) -> Response:
    """The catalogue within the regulator's jurisdiction (and the caps above it), filtered."""
    who = _regulator(request, user)
    if not isinstance(who, Principal):
        return who
    assert user is not None  # noqa: S101 - _regulator answered otherwise
    f = Filters(
        region=region.strip()[:12],
        occupation_code=occupation_code.strip()[:32],
        status=status if status in STATUS_NAMES else "",
    )
    if f.occupation_code:
        try:
            f.occupation_code = standards.normalise_occupation_code(f.occupation_code)
        except DomainError:
            t = gettext(lang_of(request))
            return _page(
                request, user, who, session, status=422, filters=f,
                errors={"filter": t(BAD_FILTER_CODE)},
            )  # fmt: skip
    return _page(request, user, who, session, filters=f)


@router.post(PAGE)
def add_standard(
    request: Request,
    user: PageUser,
    session: SessionDep,
    region_code: Annotated[str, Form(max_length=12)] = "",
    occupation_code: Annotated[str, Form(max_length=32)] = "",
    occupation_name: Annotated[str, Form(max_length=200)] = "",
    level: Annotated[str, Form(max_length=16)] = "",
    programme_kind: Annotated[str, Form(max_length=32)] = "",
    certificate_kind: Annotated[str, Form(max_length=32)] = "",
    amount_yuan: Annotated[str, Form(max_length=32)] = "",
    uplift_percent: Annotated[str, Form(max_length=8)] = "0",
    effective_from: Annotated[str, Form(max_length=32)] = "",
    effective_to: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
    target_groups: Annotated[list[str], Form(max_length=20)] = [],  # noqa: B006 - FastAPI copies
    min_age: Annotated[str, Form(max_length=8)] = "",
    max_age: Annotated[str, Form(max_length=8)] = "",
    retirement_rule: Annotated[str, Form(max_length=32)] = "",
    residence_kinds: Annotated[list[str], Form(max_length=10)] = [],  # noqa: B006
    max_per_year: Annotated[str, Form(max_length=8)] = "3",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """A standard or a new version of one, with its programme's rules (who it is for):
    ``standards.set_standard``, as the API's POST."""
    check_csrf(request, csrf)
    who = _regulator(request, user)
    if not isinstance(who, Principal):
        return who
    assert user is not None  # noqa: S101
    values = {
        "region_code": region_code,
        "occupation_code": occupation_code,
        "occupation_name": occupation_name,
        "level": level,
        "programme_kind": programme_kind,
        "certificate_kind": certificate_kind,
        "amount_yuan": amount_yuan,
        "uplift_percent": uplift_percent,
        "effective_from": effective_from,
        "effective_to": effective_to,
        "note": note,
        "target_groups": target_groups,
        "min_age": min_age,
        "max_age": max_age,
        "retirement_rule": retirement_rule,
        "residence_kinds": residence_kinds,
        "max_per_year": max_per_year,
    }
    try:
        try:
            kind = ProgrammeKind(programme_kind or ProgrammeKind.employment_skills.value)
            cert = CertificateKind(certificate_kind or CertificateKind.training_certificate.value)
            uplift = int(uplift_percent.strip() or "0")
        except ValueError:
            raise InvalidStandard(
                "The programme kind, certificate kind or uplift is not valid."
            ) from None
        start = _date(effective_from, "effective_from")
        assert start is not None  # noqa: S101 - required
        rules = form_rules(
            target_groups, min_age, max_age, retirement_rule, residence_kinds, max_per_year
        )
        with attempt(session):
            standards.set_standard(
                session,
                who,
                occupation_code=occupation_code,
                occupation_name=occupation_name,
                level=level,
                amount_fen=standards.fen_of_yuan(amount_yuan),
                effective_from=start,
                effective_to=_date(effective_to, "effective_to", required=False),
                region_code=region_code or None,
                certificate_kind=cert,
                programme_kind=kind,
                uplift_percent=uplift,
                note=note.strip() or None,
                rules=rules,
            )
    except DomainError as err:
        return _refused(request, user, who, session, err, "add", values)
    return redirect(request, PAGE, "standard_set")


def _refused(
    request: Request,
    user: User,
    principal: Principal,
    session: Session,
    err: DomainError,
    where: str,
    values: dict[str, Any] | None = None,
) -> Response:
    message = message_for(err, lang_of(request))
    return _page(
        request,
        user,
        principal,
        session,
        status=err.status,
        errors={where: message},
        values=values,
    )


@router.post(PAGE + "/{standard_id}/confirm")
def confirm_standard(
    request: Request,
    standard_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    effective_from: Annotated[str, Form(max_length=32)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Put a proposal in force from a date: ``standards.confirm``, as the API."""
    check_csrf(request, csrf)
    who = _regulator(request, user)
    if not isinstance(who, Principal):
        return who
    assert user is not None  # noqa: S101
    try:
        start = _date(effective_from, "effective_from")
        assert start is not None  # noqa: S101 - required
        with attempt(session):
            standards.confirm(session, who, standard_id, effective_from=start)
    except DomainError as err:
        return _refused(request, user, who, session, err, f"row-{standard_id}")
    return redirect(request, PAGE, "standard_confirmed")


@router.post(PAGE + "/{standard_id}/withdraw")
def withdraw_standard(
    request: Request,
    standard_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Withdraw a proposal or a version: ``standards.withdraw``, as the API."""
    check_csrf(request, csrf)
    who = _regulator(request, user)
    if not isinstance(who, Principal):
        return who
    assert user is not None  # noqa: S101
    try:
        with attempt(session):
            standards.withdraw(session, who, standard_id, reason=reason)
    except DomainError as err:
        return _refused(request, user, who, session, err, f"row-{standard_id}")
    return redirect(request, PAGE, "standard_withdrawn")


# ---------------------------------------------------------------- staff: read-only


@router.get(STAFF_PAGE)
def staff_standards_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    """What each of the institution's courses' certificates would carry if issued today: the
    standard in force for the institution's region (``standards.standard_in_force``)."""
    if user is None:
        return to_login(request)
    if user.role is not Role.staff or user.institution_id is None:
        return not_staff(request, user)
    inst = accounts.get_institution(session, user.institution_id)
    today = day_of(clock.now())
    rows = catalogue.course_amounts(session, Principal.of_user(user), inst, today)
    return render(
        request,
        "staff_standards.html",
        user,
        rows=rows,
        region_name=regions.full_name(session, inst.region_code),
        today=today.isoformat(),
        region_names={
            code: regions.full_name(session, code)
            for code in {
                s.region_code
                for r in rows
                if r.found
                for s in (r.found.standard, r.found.capped_by)
                if s is not None
            }
        },
        level_names=LEVEL_NAMES,
        certificate_names=CERTIFICATE_NAMES,
        yuan=_yuan,
    )
