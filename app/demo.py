"""Demo data for `make run`: one institution, staff, regulator, admin and learner."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.idcard import check_char
from app.accounts.models import LearnerGroup, Role
from app.audit.service import Actor


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str


DEMO_INSTITUTION = ("DEMO01", "示范职业技能培训学校")
DEMO_LEARNER_ID = "11010519900307123" + check_char("11010519900307123")
DEMO_LOGINS = (
    DemoLogin("staff", "staff", "Demo-Staff-2026"),
    DemoLogin("regulator", "regulator", "Demo-Regulator-2026"),
    DemoLogin("admin", "admin", "Demo-Admin-2026"),
    DemoLogin("learner", "learner", "Demo-Learner-2026"),
)


def seed_if_empty(session: Session) -> list[DemoLogin] | None:
    """Create the demo accounts unless the database already has users. Returns the logins."""
    if accounts.count_users(session) > 0:
        return None
    actor = Actor.system("seed-demo")
    inst = accounts.create_institution(
        session, code=DEMO_INSTITUTION[0], name=DEMO_INSTITUTION[1], actor=actor
    )
    by_role = {d.role: d for d in DEMO_LOGINS}
    accounts.create_user(
        session,
        role=Role.staff,
        username=by_role["staff"].username,
        password=by_role["staff"].password,
        institution_id=inst.id,
        real_name="李老师",
        actor=actor,
    )
    for role in (Role.regulator, Role.admin):
        d = by_role[role.value]
        accounts.create_user(
            session, role=role, username=d.username, password=d.password, actor=actor
        )
    d = by_role["learner"]
    accounts.register_learner(
        session,
        username=d.username,
        password=d.password,
        real_name="张三",
        id_number=DEMO_LEARNER_ID,
        group=LearnerGroup.migrant_worker,
        institution_id=inst.id,
        actor=actor,
    )
    return list(DEMO_LOGINS)
