"""The demo's world: the demo logins, the three institutions (深圳南山, 深圳宝安, 广州天河)
with their staff, the two regulators (深圳市, 广东省), the admin and the live-demo learner, and
seeding them (the province's regions, each institution approved for its courses' occupations)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.idcard import check_char
from app.accounts.models import Institution, InstitutionKind, LearnerGroup, Role, User
from app.accounts.principal import Principal
from app.audit.service import Actor
from app.demo.catalogue import COURSES
from app.programmes import creditcode, regions, registry


class DemoRefused(Exception):
    """Demo data goes only into an empty development database (the message says which)."""


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str
    note: str = ""


DEMO_INSTITUTION = ("DEMO01", "示范职业技能培训学校")
DEMO_REGION = "440305"  # 广东省深圳市南山区
DEMO_JURISDICTION = "440300"  # the demo regulator supervises 深圳市
PROVINCE = "440000"  # the provincial regulator: 广东省
DEMO_LEARNER_ID = "11010519900307123" + check_char("11010519900307123")
DEMO_LOGINS = (
    DemoLogin("staff", "staff", "Demo-Staff-2026", "示范职业技能培训学校（深圳南山）"),
    DemoLogin("staff", "staff-baoan", "Demo-Staff-2026", "宝安区技工培训学校（深圳宝安）"),
    DemoLogin("staff", "staff-gz", "Demo-Staff-2026", "天河区职业技能培训中心（广州天河）"),
    DemoLogin("regulator", "regulator", "Demo-Regulator-2026", "深圳市人社局（地市）"),
    DemoLogin("regulator", "regulator-gd", "Demo-Regulator-2026", "广东省人社厅（全省）"),
    DemoLogin("admin", "admin", "Demo-Admin-2026", "平台管理员"),
    DemoLogin("learner", "learner", "Demo-Learner-2026", "可现场录入人脸并学习"),
)

#: One password per role (development only: printed on every `make run`, listed in README).
PASSWORDS = {d.role: d.password for d in DEMO_LOGINS}


@dataclass(frozen=True)
class InstitutionSpec:
    code: str
    name: str
    region: str
    staff: tuple[tuple[str, str], ...]  # (username, real name); the first is the demo login


INSTITUTIONS = (
    InstitutionSpec(
        "DEMO01", DEMO_INSTITUTION[1], DEMO_REGION, (("staff", "李老师"), ("staff-nsh2", "周老师"))
    ),
    InstitutionSpec(
        "SZBA01",
        "深圳市宝安区技工培训学校",
        "440306",
        (("staff-baoan", "陈老师"), ("staff-ba2", "黄老师")),
    ),
    InstitutionSpec(
        "GZTH01",
        "广州市天河区职业技能培训中心",
        "440106",
        (("staff-gz", "王老师"), ("staff-gz2", "刘老师")),
    ),
)


@dataclass
class World:
    """What :func:`seed_world` made: institutions and their staff by code, regulators by login."""

    institutions: dict[str, Institution]
    staff: dict[str, list[User]]
    regulators: dict[str, User]


def seed_world(session: Session, actor: Actor) -> World:
    """The regions, institutions, staff, regulators, admin and the live-demo learner."""
    regions.seed_demo_province(session, actor=actor)
    insts: dict[str, Institution] = {}
    staff: dict[str, list[User]] = {}
    for spec in INSTITUTIONS:
        inst = accounts.create_institution(
            session,
            code=spec.code,
            name=spec.name,
            region_code=spec.region,
            credit_code=credit_code(spec.region, len(insts) + 1),
            legal_name=spec.name,
            kind=InstitutionKind.private,
            actor=actor,
        )
        insts[spec.code] = inst
        staff[spec.code] = [
            accounts.create_user(
                session,
                role=Role.staff,
                username=username,
                password=PASSWORDS["staff"],
                institution_id=inst.id,
                real_name=real_name,
                actor=actor,
            )
            for username, real_name in spec.staff
        ]
    regulators: dict[str, User] = {}
    for username, jurisdiction, name in (
        ("regulator", DEMO_JURISDICTION, "深圳市人社局监管员"),
        ("regulator-gd", PROVINCE, "广东省人社厅监管员"),
    ):
        regulators[username] = accounts.create_user(
            session,
            role=Role.regulator,
            username=username,
            password=PASSWORDS["regulator"],
            real_name=name,
            jurisdiction_code=jurisdiction,
            actor=actor,
        )
    accounts.create_user(
        session, role=Role.admin, username="admin", password=PASSWORDS["admin"], actor=actor
    )
    # The province's regulator approves each institution for its courses' occupations.
    for code, inst in insts.items():
        registry.approve(
            session,
            Principal.of_user(regulators["regulator-gd"]),
            inst.id,
            scope=sorted({(c.code, c.level.value) for c in COURSES if c.inst == code}),
            reason="材料齐全，现场核查合格，核准开展补贴性职业技能培训",
        )
    accounts.register_learner(
        session,
        username="learner",
        password=PASSWORDS["learner"],
        real_name="张三",
        id_number=DEMO_LEARNER_ID,
        group=LearnerGroup.migrant_worker,
        institution_id=insts["DEMO01"].id,
        actor=actor,
    )
    return World(institutions=insts, staff=staff, regulators=regulators)


def credit_code(region: str, n: int) -> str:
    """A well-formed 统一社会信用代码 for a demo institution (52: a private non-enterprise unit)."""
    first17 = f"52{region}MJL{n:06d}"
    return first17 + creditcode.check_character(first17)
