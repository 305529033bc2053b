"""Demo data for `make run`: one institution, its staff, a regulator, an admin, a learner and a
published course with a short roll-call policy (so a demo sees a roll-call within minutes)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.idcard import check_char
from app.accounts.models import LearnerGroup, Role
from app.accounts.principal import Principal
from app.audit.service import Actor
from app.courses import service as courses
from app.courses.models import Level
from app.programmes import regions


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str


DEMO_INSTITUTION = ("DEMO01", "示范职业技能培训学校")
DEMO_REGION = "440305"  # 广东省深圳市南山区
DEMO_JURISDICTION = "440300"  # the demo regulator supervises 深圳市
DEMO_LEARNER_ID = "11010519900307123" + check_char("11010519900307123")
DEMO_LOGINS = (
    DemoLogin("staff", "staff", "Demo-Staff-2026"),
    DemoLogin("regulator", "regulator", "Demo-Regulator-2026"),
    DemoLogin("admin", "admin", "Demo-Admin-2026"),
    DemoLogin("learner", "learner", "Demo-Learner-2026"),
)

_LESSONS = (
    ("安全用电基本知识", "电流对人体的伤害、安全电压、触电的形式与急救方法。", 10),
    ("低压电器与线路", "常用低压电器的结构、选用与安装；照明线路的敷设要求。", 15),
)
_QUESTIONS = (
    ("single", "我国规定的安全电压额定值上限是多少伏？", ["12V", "24V", "36V", "220V"], [2]),
    ("multiple", "以下哪些属于绝缘安全用具？", ["绝缘手套", "绝缘靴", "铁锤", "绝缘垫"], [0, 1, 3]),
    ("judge", "发现有人触电，应首先切断电源或使触电者脱离电源。", ["正确", "错误"], [0]),
    (
        "single",
        "电气设备着火时，不能使用哪种灭火器？",
        ["干粉", "二氧化碳", "泡沫", "七氟丙烷"],
        [2],
    ),
    ("judge", "特种作业人员必须持证上岗。", ["正确", "错误"], [0]),
)


def seed_if_empty(session: Session) -> list[DemoLogin] | None:
    """Create the demo data unless the database already has users. Returns the logins."""
    if accounts.count_users(session) > 0:
        return None
    actor = Actor.system("seed-demo")
    regions.seed_demo_province(session, actor=actor)
    inst = accounts.create_institution(
        session,
        code=DEMO_INSTITUTION[0],
        name=DEMO_INSTITUTION[1],
        region_code=DEMO_REGION,
        actor=actor,
    )
    by_role = {d.role: d for d in DEMO_LOGINS}
    staff = accounts.create_user(
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
            session,
            role=role,
            username=d.username,
            password=d.password,
            jurisdiction_code=DEMO_JURISDICTION if role is Role.regulator else None,
            actor=actor,
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
    as_staff = Principal.of_user(staff)
    course = courses.create_course(
        session,
        as_staff,
        title="低压电工作业（初级）· 演示",
        occupation_code="6-31-01-03",
        occupation_name="电工",
        level=Level.level5,
        required_minutes=5,
        pass_score=60,
        subsidy_fen=150_000,
        description="演示课程：点名间隔较短，便于体验签到、随机点名与考试。",
        policy=courses.CoursePolicy(
            rollcall_min_interval_s=60,
            rollcall_max_interval_s=120,
            heartbeat_interval_s=10,
            quiz_question_count=len(_QUESTIONS),
        ),
    )
    for title, body, minutes in _LESSONS:
        courses.add_lesson(
            session,
            as_staff,
            course.id,
            title=title,
            kind="text",
            body_or_url=body,
            minutes=minutes,
        )
    for kind, stem, options, answer in _QUESTIONS:
        courses.add_question(
            session, as_staff, course.id, kind=kind, stem=stem, options=options, answer=answer
        )
    courses.publish_course(session, as_staff, course.id)
    return list(DEMO_LOGINS)
