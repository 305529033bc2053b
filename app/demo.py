"""Demo data for `make run` (``skilltrace seed-demo``): a training platform that looks alive.

Into an EMPTY database (refused otherwise, and outside development) it seeds, through the domain
services (every row audited on its institution's chain):

* the demo province's regions, three institutions in two prefectures (深圳: 南山, 宝安; 广州:
  天河), staff for each, a provincial regulator (广东省), a prefecture regulator (深圳市), an
  admin, and the live-demo learner ``learner``;
* ten published courses across real occupations (《中华人民共和国职业分类大典》 codes) and
  levels, with lessons and question banks, each run as classes (班级/期次) filed with the
  provincial regulator (开班备案: one returned and filed again, all approved, and one next
  term's class awaiting a decision in the regulators' queue) and opened (开班); the first is
  the short roll-call course a demo learner can study live (its default class is not filed:
  self-enrolled training is not subsidised);
* ~300 learners of every target group with valid GB 11643 ID numbers (ages 18-58 spread),
  enrolled by their institution's staff over six months (the clock is frozen and moved forward
  with :class:`app.clock.FrozenClock`, so every record carries its simulated date, in order).

Learner accounts other than ``learner`` are created the way institutions create them (a roster:
no password until the learner activates): hashing 300 passwords would take most of the time budget
and nobody signs in as them.
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial

from sqlmodel import Session

from app import clock
from app.accounts import activation, idcard
from app.accounts import service as accounts
from app.accounts.idcard import check_char
from app.accounts.models import Institution, InstitutionKind, LearnerGroup, Role, User
from app.accounts.principal import Principal
from app.attendance import simulation
from app.attendance.models import Outcome, Purpose
from app.audit.service import Actor
from app.certificates import service as certificates
from app.claims import service as claims
from app.claims.models import ClaimBatch, LineDecision
from app.config import Environment, get_settings
from app.courses import classes, quiz
from app.courses import heartbeat as heartbeats
from app.courses import rollcall as rollcalls
from app.courses import service as courses
from app.courses import sessions as studies
from app.courses.models import (
    Course,
    CourseClass,
    Enrollment,
    Level,
    QuizOpens,
    RollCall,
    RollCallStatus,
    StudySession,
)
from app.errors import DomainError
from app.filing import service as filing
from app.filing.models import FilingKind
from app.programmes import creditcode, regions, registry, standards


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
_PASSWORDS = {d.role: d.password for d in DEMO_LOGINS}

#: Simulated history: six months up to the moment seeding starts.
HISTORY_DAYS = 182


@dataclass(frozen=True)
class _Inst:
    code: str
    name: str
    region: str
    staff: tuple[tuple[str, str], ...]  # (username, real name); the first is the demo login


INSTITUTIONS = (
    _Inst(
        "DEMO01", DEMO_INSTITUTION[1], DEMO_REGION, (("staff", "李老师"), ("staff-nsh2", "周老师"))
    ),
    _Inst(
        "SZBA01",
        "深圳市宝安区技工培训学校",
        "440306",
        (("staff-baoan", "陈老师"), ("staff-ba2", "黄老师")),
    ),
    _Inst(
        "GZTH01",
        "广州市天河区职业技能培训中心",
        "440106",
        (("staff-gz", "王老师"), ("staff-gz2", "刘老师")),
    ),
)


@dataclass(frozen=True)
class _Course:
    inst: str
    title: str
    code: str
    occupation: str
    level: Level
    minutes: int
    subsidy_yuan: int
    lessons: tuple[tuple[str, str], ...]
    questions: tuple[tuple[str, str, tuple[str, ...], tuple[int, ...]], ...]


_J = ("正确", "错误")
#: Questions every course's bank also holds (职业道德、安全生产、劳动法律常识).
_COMMON_QUESTIONS: tuple[tuple[str, str, tuple[str, ...], tuple[int, ...]], ...] = (
    ("judge", "从业人员有权拒绝违章指挥和强令冒险作业。", _J, (0,)),
    (
        "single",
        "《劳动合同法》规定，用人单位自用工之日起即与劳动者建立什么关系？",
        ("劳务关系", "劳动关系", "雇佣关系", "合作关系"),
        (1,),
    ),
    (
        "multiple",
        "以下哪些属于职业道德的基本要求？",
        ("爱岗敬业", "诚实守信", "办事公道", "弄虚作假"),
        (0, 1, 2),
    ),
    ("judge", "发生火灾时应乘坐电梯迅速撤离。", _J, (1,)),
)

_ELECTRIC_LESSONS = (
    ("安全用电基本知识", "电流对人体的伤害、安全电压、触电的形式与急救方法。"),
    ("低压电器与线路", "常用低压电器的结构、选用与安装；照明线路的敷设要求。"),
)
_ELECTRIC_QUESTIONS: tuple[tuple[str, str, tuple[str, ...], tuple[int, ...]], ...] = (
    ("single", "我国规定的安全电压额定值上限是多少伏？", ("12V", "24V", "36V", "220V"), (2,)),
    (
        "multiple",
        "以下哪些属于绝缘安全用具？",
        ("绝缘手套", "绝缘靴", "铁锤", "绝缘垫"),
        (0, 1, 3),
    ),
    ("judge", "发现有人触电，应首先切断电源或使触电者脱离电源。", _J, (0,)),
    (
        "single",
        "电气设备着火时，不能使用哪种灭火器？",
        ("干粉", "二氧化碳", "泡沫", "七氟丙烷"),
        (2,),
    ),
    ("judge", "特种作业人员必须持证上岗。", _J, (0,)),
)

COURSES = (
    # The live-demo course: short roll-call intervals (see seed()).
    _Course(
        "DEMO01",
        "低压电工作业（初级）· 演示",
        "6-31-01-03",
        "电工",
        Level.level5,
        5,
        1500,
        _ELECTRIC_LESSONS,
        _ELECTRIC_QUESTIONS,
    ),
    _Course(
        "DEMO01",
        "电工（四级/中级工）",
        "6-31-01-03",
        "电工",
        Level.level4,
        120,
        2000,
        (
            ("电工基础与识图", "直流与交流电路、三相电路、电气原理图与接线图的识读。"),
            ("电动机控制线路", "三相异步电动机的点动、连续运行、正反转与星三角降压启动。"),
            ("PLC 入门", "可编程控制器的组成、梯形图编程与简单控制线路的改造。"),
        ),
        _ELECTRIC_QUESTIONS,
    ),
    _Course(
        "DEMO01",
        "家政服务员（专项能力）",
        "4-10-01-01",
        "家政服务员",
        Level.special,
        60,
        800,
        (
            ("家居清洁与收纳", "不同材质地面、厨卫的清洁方法与常用清洁剂的安全使用。"),
            ("家庭餐制作", "营养搭配、食品安全与一日三餐的制作要点。"),
        ),
        (
            ("judge", "含氯消毒剂与洁厕剂（酸性）可以混合使用以增强效果。", _J, (1,)),
            ("single", "生熟食品应当如何存放？", ("混放", "分开存放", "生上熟下", "无所谓"), (1,)),
        ),
    ),
    _Course(
        "SZBA01",
        "焊工（五级/初级工）",
        "6-29-01-01",
        "焊工",
        Level.level5,
        120,
        1500,
        (
            ("焊接安全与防护", "焊接烟尘、弧光、触电与火灾的防护；动火作业审批。"),
            ("焊条电弧焊", "焊条的选用、引弧、运条与平焊位置对接焊。"),
        ),
        (
            (
                "multiple",
                "焊工作业时应佩戴哪些防护用品？",
                ("焊接面罩", "绝缘手套", "阻燃工作服", "拖鞋"),
                (0, 1, 2),
            ),
            ("judge", "在盛装过易燃物的容器上焊接前必须彻底清洗并检测合格。", _J, (0,)),
        ),
    ),
    _Course(
        "SZBA01",
        "中式烹调师（五级/初级工）",
        "4-03-02-01",
        "中式烹调师",
        Level.level5,
        90,
        1200,
        (
            ("烹饪原料初加工", "蔬菜、禽畜、水产原料的初加工与刀工基础。"),
            ("火候与调味", "火候的识别与掌握，基本味型与调味的程序。"),
        ),
        (
            (
                "single",
                "食品中心温度达到多少摄氏度以上才能视为烧熟煮透？",
                ("50", "60", "70", "90"),
                (2,),
            ),
            ("judge", "加工后的成品应与半成品、原料分开存放。", _J, (0,)),
        ),
    ),
    _Course(
        "SZBA01",
        "中式面点师（五级/初级工）",
        "4-03-02-02",
        "中式面点师",
        Level.level5,
        90,
        1200,
        (
            ("面团调制", "水调面团、膨松面团、油酥面团的调制原理与方法。"),
            ("馅心制作与成型", "咸馅、甜馅的制作；包、捏、卷、擀等成型手法。"),
        ),
        (
            (
                "single",
                "发酵面团主要利用了什么使面团膨松？",
                ("小苏打", "酵母", "鸡蛋", "食盐"),
                (1,),
            ),
            ("judge", "面点间的工具应生熟分开并定期清洗消毒。", _J, (0,)),
        ),
    ),
    _Course(
        "GZTH01",
        "养老护理员（五级/初级工）",
        "4-10-01-05",
        "养老护理员",
        Level.level5,
        120,
        1500,
        (
            ("老年人生活照料", "清洁、饮食、排泄与睡眠照料的基本方法。"),
            ("安全与急救", "跌倒、噎食、烫伤的预防与应急处理。"),
        ),
        (
            (
                "single",
                "老年人发生噎食时，首选的急救方法是？",
                ("拍背", "海姆立克急救法", "喂水", "平躺休息"),
                (1,),
            ),
            ("judge", "为卧床老人翻身可以预防压力性损伤（压疮）。", _J, (0,)),
        ),
    ),
    _Course(
        "GZTH01",
        "养老护理员（四级/中级工）",
        "4-10-01-05",
        "养老护理员",
        Level.level4,
        150,
        2000,
        (
            ("失智老人照护", "认知障碍的表现、沟通技巧与异常行为的应对。"),
            ("康复服务", "肢体功能训练、助行器具的使用与活动安排。"),
        ),
        (
            (
                "multiple",
                "与失智老人沟通时应当？",
                ("语速放慢", "使用简短句子", "大声训斥", "保持耐心"),
                (0, 1, 3),
            ),
            ("judge", "使用轮椅下坡时应倒退缓行。", _J, (0,)),
        ),
    ),
    _Course(
        "GZTH01",
        "育婴员（五级/初级工）",
        "4-10-01-02",
        "育婴员",
        Level.level5,
        90,
        1200,
        (
            ("婴幼儿生活照料", "喂养、睡眠、清洁与二便照料。"),
            ("婴幼儿保健与护理", "预防接种、常见病的识别与意外伤害的预防。"),
        ),
        (
            ("single", "婴儿配方奶的冲调水温一般为？", ("20℃", "40-50℃", "70-80℃", "100℃"), (1,)),
            ("judge", "婴儿睡眠时宜采取仰卧位以降低窒息风险。", _J, (0,)),
        ),
    ),
    _Course(
        "GZTH01",
        "保育师（五级/初级工）",
        "4-10-01-03",
        "保育师",
        Level.level5,
        90,
        1200,
        (
            ("托育机构的一日生活", "入园、进餐、午睡、离园各环节的保育要点。"),
            ("卫生消毒与安全", "玩具、餐具、环境的消毒方法；托育机构的安全管理。"),
        ),
        (
            (
                "single",
                "幼儿餐具煮沸消毒的时间一般不少于？",
                ("1分钟", "5分钟", "15分钟", "1小时"),
                (2,),
            ),
            ("judge", "幼儿午睡时保育人员可以离开寝室。", _J, (1,)),
        ),
    ),
)

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程苏魏"
    "吕丁任沈姚卢"
)
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉俊鹏飞婷雪梅海燕志宏春晓"
#: Where learners' ID numbers were issued: local districts and the provinces migrant workers
#: come from (GB/T 2260 county codes).
_ORIGINS = (
    "440305", "440306", "440307", "440106", "440111", "440113", "441302", "445102",
    "430111", "430521", "431102", "510107", "511502", "360102", "362101", "411302",
    "421302", "450102", "522101", "350102",
)  # fmt: skip
#: (group, share, youngest, oldest age)
_GROUPS = (
    (LearnerGroup.migrant_worker, 30, 20, 55),
    (LearnerGroup.enterprise_employee, 20, 22, 55),
    (LearnerGroup.unemployed, 12, 25, 55),
    (LearnerGroup.college_graduate, 10, 21, 25),
    (LearnerGroup.school_leaver, 7, 18, 19),
    (LearnerGroup.ex_serviceman, 5, 22, 40),
    (LearnerGroup.employment_difficulty, 5, 30, 58),
    (LearnerGroup.poverty_labourer, 8, 20, 55),
    (LearnerGroup.other, 3, 18, 58),
)

LEARNERS = 300


@dataclass
class DemoResult:
    logins: list[DemoLogin]
    counts: dict[str, int] = field(default_factory=dict)


#: Called with (step description, steps done, steps total) as seeding goes.
ProgressFn = Callable[[str, int, int], None]


def _no_progress(what: str, done: int, total: int) -> None:
    return None


@contextmanager
def _time_travel(start: datetime) -> Iterator[clock.FrozenClock]:
    previous = clock.get_clock()
    frozen = clock.FrozenClock(start)
    clock.set_clock(frozen)
    try:
        yield frozen
    finally:
        clock.set_clock(previous)


def check_may_seed(session: Session) -> None:
    """Refuse unless development and an empty database (no users: nothing to mix with)."""
    # The test environment is development's twin (the suite seeds); production never.
    if get_settings().env not in (Environment.development, Environment.test):
        raise DemoRefused("only with SKILLTRACE_ENV=development")
    users = accounts.count_users(session)
    if users:
        raise DemoRefused(f"database not empty ({users} users), nothing added")


def _id_number(rng: random.Random, birth: date, seq: int) -> idcard.IdNumber:
    origin = rng.choice(_ORIGINS)
    body = f"{origin}{birth:%Y%m%d}{seq % 1000:03d}"
    return idcard.parse(body + check_char(body))


def _people(
    rng: random.Random, n: int, today: date
) -> Iterator[tuple[str, idcard.IdNumber, LearnerGroup]]:
    weights = [g[1] for g in _GROUPS]
    seen: set[str] = {DEMO_LEARNER_ID}
    i = 0
    while i < n:
        group, _, young, old = rng.choices(_GROUPS, weights)[0]
        age = rng.randint(young, old)
        birth = today.replace(year=today.year - age - 1) + timedelta(days=rng.randint(1, 360))
        number = _id_number(rng, birth, rng.randint(1, 999))
        if number.value in seen:
            continue
        seen.add(number.value)
        name = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2, 2))))
        yield name, number, group
        i += 1


def seed(session: Session, *, progress: ProgressFn = _no_progress) -> DemoResult:
    """Seed the demo (see the module docstring) into an empty development database."""
    check_may_seed(session)
    rng = random.Random(2026)  # noqa: S311 - the same picture every time, not a secret
    real_now = clock.now()
    start = (real_now - timedelta(days=HISTORY_DAYS)).replace(microsecond=0)
    actor = Actor.system("seed-demo")
    counts: dict[str, int] = {}
    with _time_travel(start) as frozen, simulation.simulating():
        progress("地区、机构与账号", 0, 1)
        regions.seed_demo_province(session, actor=actor)
        insts: dict[str, Institution] = {}
        staff: dict[str, list[User]] = {}
        for spec in INSTITUTIONS:
            inst = accounts.create_institution(
                session,
                code=spec.code,
                name=spec.name,
                region_code=spec.region,
                credit_code=_credit_code(spec.region, len(insts) + 1),
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
                    password=_PASSWORDS["staff"],
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
            regulators[username] = provincial = accounts.create_user(
                session,
                role=Role.regulator,
                username=username,
                password=_PASSWORDS["regulator"],
                real_name=name,
                jurisdiction_code=jurisdiction,
                actor=actor,
            )
        accounts.create_user(
            session, role=Role.admin, username="admin", password=_PASSWORDS["admin"], actor=actor
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
            password=_PASSWORDS["learner"],
            real_name="张三",
            id_number=DEMO_LEARNER_ID,
            group=LearnerGroup.migrant_worker,
            institution_id=insts["DEMO01"].id,
            actor=actor,
        )
        counts["institutions"] = len(insts)
        counts["standards"] = _seed_standards(session, regulators["regulator-gd"])
        course_rows = _seed_courses(session, staff, frozen, progress, regulators["regulator-gd"])
        counts["courses"] = len(course_rows)
        counts["enrollments"] = _seed_learners(
            session, rng, insts, staff, course_rows, frozen, real_now, progress, provincial
        )
        counts["learners"] = LEARNERS
        _file_next_term(session, course_rows[1], staff)
    return DemoResult(logins=list(DEMO_LOGINS), counts=counts)


def _credit_code(region: str, n: int) -> str:
    """A well-formed 统一社会信用代码 for a demo institution (52: a private non-enterprise unit)."""
    first17 = f"52{region}MJL{n:06d}"
    return first17 + creditcode.check_character(first17)


def _seed_standards(session: Session, regulator: User) -> int:
    """The province's subsidy standards for the demo's occupations and levels (the courses'
    amounts are only proposals: certificates are paid from these)."""
    amounts: dict[tuple[str, str, str], int] = {}
    for spec in COURSES:
        key = (spec.code, spec.occupation, spec.level.value)
        amounts[key] = max(amounts.get(key, 0), spec.subsidy_yuan * 100)
    principal = Principal.of_user(regulator)
    for (code, occupation, level), fen in sorted(amounts.items()):
        standards.set_standard(
            session,
            principal,
            occupation_code=code,
            occupation_name=occupation,
            level=level,
            amount_fen=fen,
            effective_from=date(2025, 1, 1),
            note="演示：广东省职业技能培训补贴标准",
        )
    return len(amounts)


@dataclass
class _Run:
    spec: _Course
    course: Course
    classes: list[CourseClass]


def _seed_courses(
    session: Session,
    staff: dict[str, list[User]],
    frozen: clock.FrozenClock,
    progress: ProgressFn,
    regulator: User,
) -> list[_Run]:
    runs: list[_Run] = []
    approver = Principal.of_user(regulator)
    for n, spec in enumerate(COURSES):
        progress("课程、题库与班级", n, len(COURSES))
        teacher = staff[spec.inst][0]
        as_staff = Principal.of_user(teacher)
        demo = n == 0
        questions = spec.questions + _COMMON_QUESTIONS
        # Both quiz rules show: the course to try out, and every other one, opens its quiz at any
        # time; the rest after the required hours (the default).
        opens = QuizOpens.any_time if demo or n % 2 else QuizOpens.after_hours
        policy = (
            courses.CoursePolicy(
                rollcall_min_interval_s=60,
                rollcall_max_interval_s=120,
                heartbeat_interval_s=10,
                quiz_question_count=len(questions),
                quiz_opens=opens,
            )
            if demo
            else courses.CoursePolicy(
                quiz_question_count=5, heartbeat_interval_s=60, quiz_opens=opens
            )
        )
        course = courses.create_course(
            session,
            as_staff,
            title=spec.title,
            occupation_code=spec.code,
            occupation_name=spec.occupation,
            level=spec.level,
            required_minutes=spec.minutes,
            pass_score=60,
            subsidy_fen=spec.subsidy_yuan * 100,
            description=(
                "演示课程：点名间隔较短，便于体验签到、随机点名与考试。"
                if demo
                else f"{spec.occupation}职业技能培训，按《国家职业技能标准》组织教学，"
                f"学时达标并考试合格后颁发培训合格证书，可申领职业技能培训补贴。"
            ),
            policy=policy,
        )
        for title, body in spec.lessons:
            courses.add_lesson(
                session,
                as_staff,
                course.id,
                title=title,
                kind="text",
                body_or_url=body,
                minutes=max(1, spec.minutes // len(spec.lessons)),
            )
        for kind, stem, options, answer in questions:
            courses.add_question(
                session,
                as_staff,
                course.id,
                kind=kind,
                stem=stem,
                options=list(options),
                answer=list(answer),
            )
        courses.publish_course(session, as_staff, course.id)
        today = clock.now().astimezone(clock.SHANGHAI).date()
        kls: list[CourseClass] = []
        if not demo:  # the live-demo course keeps its default class (self-enrolment)
            for term, offset in ((1, 0), (2, 60)):
                klass = classes.create_class(
                    session,
                    as_staff,
                    course.id,
                    code=f"2026-{term:02d}",
                    name=f"{spec.occupation}培训 2026年第{term}期",
                    starts_on=today + timedelta(days=offset),
                    ends_on=today + timedelta(days=offset + 150),
                    capacity=80,
                    head_teacher_id=staff[spec.inst][term - 1].id,
                )
                kls.append(klass)
                _file_opening(
                    session, as_staff, approver, klass, returned_first=n == 1 and term == 1
                )
            classes.open_class(session, as_staff, kls[0].id)
        frozen.advance(minutes=7)
        runs.append(_Run(spec, course, kls))
    return runs


def _file_next_term(session: Session, run: _Run, staff: dict[str, list[User]]) -> None:
    """Next term's class of a course, filed at the end of the history and waiting in the
    regulators' queue (开班备案 pending)."""
    teacher = staff[run.spec.inst][0]
    as_staff = Principal.of_user(teacher)
    start = clock.now().astimezone(clock.SHANGHAI).date() + timedelta(days=14)
    upcoming = classes.create_class(
        session,
        as_staff,
        run.course.id,
        code="2026-03",
        name=f"{run.spec.occupation}培训 2026年第3期",
        starts_on=start,
        ends_on=start + timedelta(days=150),
        capacity=80,
        head_teacher_id=teacher.id,
    )
    filing.file_class(
        session,
        as_staff,
        upcoming.id,
        kind=FilingKind.opening,
        site="深圳市南山区西丽街道留仙大道 3370 号实训楼 2 层",
    )


def _file_opening(
    session: Session,
    staff: Principal,
    regulator: Principal,
    klass: CourseClass,
    *,
    returned_first: bool = False,
) -> None:
    """开班备案: the class is filed with the provincial regulator and approved; one class's first
    filing is returned for the missing practical site and filed again (its history shows both
    versions)."""
    if returned_first:
        first = filing.file_class(session, staff, klass.id, kind=FilingKind.opening)
        filing.return_filing(
            session, regulator, first.id, reason="未填写线下实操场地，请补充后重新备案"
        )
    f = filing.file_class(
        session,
        staff,
        klass.id,
        kind=FilingKind.opening,
        site="深圳市南山区西丽街道留仙大道 3370 号实训楼 2 层",
    )
    filing.approve(session, regulator, f.id, note="同意开班")


#: Learners with a simulated study history (check-ins, heartbeats, roll-calls); the others
#: are enrolled and waiting to activate their accounts (see the module docstring).
HISTORY_LEARNERS = 24
#: The course whose learners fail and miss their roll-calls (the fraud report's "roll-call
#: rate" finding).
_SLACK_COURSE = "中式面点师（五级/初级工）"
#: One address shared by several learners' check-ins on the same days: the fraud report's
#: "crowded address" pattern (an agent studying for others).
_AGENT_IP = "113.87.160.23"


@dataclass
class _Step:
    """Something that happens at ``at`` on the demo's timeline."""

    at: datetime
    seq: int
    run: Callable[[], None]


class _Timeline:
    """Steps run in time order with the frozen clock set to each step's time (never back)."""

    def __init__(self, frozen: clock.FrozenClock, end: datetime) -> None:
        self.frozen = frozen
        self.end = end  # nothing simulated happens after the moment seeding started
        self.steps: list[_Step] = []
        self.issued = 0  # certificates issued so far
        self.first_papers = 0  # first quiz attempts so far

    def at(self, when: datetime, run: Callable[[], None]) -> None:
        if when < self.end:
            self.steps.append(_Step(when, len(self.steps), run))

    def play(self, progress: ProgressFn) -> None:
        n = 0
        while self.steps:  # a step may add later steps (a review decided the next day)
            self.steps.sort(key=lambda st: (st.at, st.seq), reverse=True)
            st = self.steps.pop()
            if n % 25 == 0:
                progress("学员与学习记录", n, n + len(self.steps))
            if st.at > self.frozen.now():
                self.frozen.set(st.at)
            st.run()
            n += 1
        progress("学员与学习记录", n, n)


@dataclass
class _Learner:
    user: User
    clerk: Principal
    ip: str
    #: Chance that a roll-call is failed / missed / sent to review.
    fail: float = 0.03
    miss: float = 0.04
    review: float = 0.03


def _study(
    session: Session,
    rng: random.Random,
    who: _Learner,
    enrollment: Enrollment,
    course: Course,
    minutes: int,
    timeline: _Timeline,
    *,
    last: bool = False,
) -> None:
    """One sitting: a simulated check-in, a heartbeat every interval, the roll-calls offered
    answered (mostly passed), the session ended by the learner or by a failed roll-call; after
    the ``last`` one the learner tries the quiz."""
    user = who.user
    ev = simulation.record(
        session,
        user,
        purpose=Purpose.checkin,
        outcome=Outcome.passed,
        distance=rng.uniform(0.58, 0.82),
        institution_id=enrollment.institution_id,
        client_ip=who.ip,
    )
    study = studies.open_after_checkin(session, user, enrollment, course, ev)
    end = clock.now() + timedelta(minutes=minutes)
    step = course.heartbeat_interval_s
    frozen = timeline.frozen
    while clock.now() < end:
        frozen.advance(step)
        r = heartbeats.heartbeat(session, user, study.id, visible=rng.random() > 0.02)
        if r.rollcall is None:
            continue
        roll = rng.random()
        if roll < who.miss:  # never answered: the next heartbeat after the deadline says so
            frozen.set(r.rollcall.deadline + timedelta(seconds=step))
            heartbeats.heartbeat(session, user, study.id, visible=True)
            break
        frozen.advance(rng.randint(8, 40))
        rc = session.get(RollCall, r.rollcall.id)
        fresh = session.get(StudySession, study.id, populate_existing=True)
        if rc is None or fresh is None:  # pragma: no cover - offered a moment ago
            raise RuntimeError("the roll-call just offered is gone")
        if roll < who.miss + who.fail:
            # Someone else at the camera: every chance fails (a roll-call allows MAX_ATTEMPTS).
            for _ in range(rollcalls.MAX_ATTEMPTS):
                reason = rng.choice(("face_mismatch", "face_mismatch", "no_face"))
                event = simulation.record(
                    session,
                    user,
                    purpose=Purpose.rollcall,
                    outcome=Outcome.failed,
                    reason_code=reason,
                    distance=rng.uniform(0.05, 0.3) if reason == "face_mismatch" else None,
                    institution_id=enrollment.institution_id,
                    client_ip=who.ip,
                )
                rollcalls.settle_rollcall(session, fresh, rc, event)
                if rc.status is not RollCallStatus.pending:
                    break
                frozen.advance(rng.randint(8, 20))
            break
        if roll < who.miss + who.fail + who.review:
            event = simulation.record(
                session,
                user,
                purpose=Purpose.rollcall,
                outcome=Outcome.review,
                reason_code="uncertain_match",
                distance=rng.uniform(0.41, 0.49),
                institution_id=enrollment.institution_id,
                client_ip=who.ip,
            )
            rollcalls.settle_rollcall(session, fresh, rc, event)
            approve = rng.random() < 0.7
            timeline.at(
                clock.now() + timedelta(hours=rng.uniform(2, 30)),
                partial(_decide, session, who.clerk, event.id, approve),
            )
            break
        event = simulation.record(
            session,
            user,
            purpose=Purpose.rollcall,
            outcome=Outcome.passed,
            distance=rng.uniform(0.58, 0.82),
            institution_id=enrollment.institution_id,
            client_ip=who.ip,
        )
        rollcalls.settle_rollcall(session, fresh, rc, event)
    studies.end_session(session, user, study.id)
    if last:
        timeline.at(
            clock.now() + timedelta(days=rng.uniform(0.5, 3)),
            lambda: _take_quiz(session, rng, who, enrollment, course, timeline),
        )


def _take_quiz(
    session: Session,
    rng: random.Random,
    who: _Learner,
    enrollment: Enrollment,
    course: Course,
    timeline: _Timeline,
    tries: int = 1,
) -> None:
    """The quiz behind a simulated quiz-gate check (only when the course's rule lets the
    learner start: otherwise nothing is recorded); a failed paper is tried again days later;
    a passed one completes the enrolment and staff issue the certificate the next day."""
    user = who.user
    try:
        with session.begin_nested():
            ev = simulation.record(
                session,
                user,
                purpose=Purpose.quiz,
                outcome=Outcome.passed,
                distance=rng.uniform(0.58, 0.82),
                institution_id=enrollment.institution_id,
                client_ip=who.ip,
            )
            attempt = quiz.start_after_check(session, user, enrollment.id, ev)
    except DomainError:  # not yet allowed (time short, attempts used): nothing happened
        return
    timeline.frozen.advance(rng.randint(6 * 60, min(25 * 60, course.quiz_time_limit_s - 60)))
    skill = rng.uniform(0.55, 0.98)
    if tries == 1:
        # Every fourth learner's first paper is a weak one (and fails): the history always
        # shows failed and retried quizzes, however its random parts fall.
        timeline.first_papers += 1
        if timeline.first_papers % 4 == 1:
            skill = rng.uniform(0.1, 0.3)
    answers: dict[str, list[int]] = {}
    for item in attempt.paper:
        right = list(item["answer"])
        answers[item["question_id"]] = right if rng.random() < skill else [0 if right != [0] else 1]
    result = quiz.submit(session, user, attempt.id, answers)
    if result.completed_now:
        timeline.at(
            clock.now() + timedelta(hours=rng.uniform(18, 40)),
            lambda: _certify(session, timeline, who, enrollment),
        )
    elif not result.attempt.passed and tries < course.quiz_max_attempts:
        timeline.at(
            clock.now() + timedelta(days=rng.uniform(1, 5)),
            lambda: _take_quiz(session, rng, who, enrollment, course, timeline, tries + 1),
        )


#: Revoked certificates: every this many issued, one (the reason staff wrote).
_REVOKE_EVERY = 7


def _certify(session: Session, timeline: _Timeline, who: _Learner, enrollment: Enrollment) -> None:
    cert = certificates.issue(session, who.clerk, enrollment.id)
    timeline.issued += 1
    if timeline.issued % _REVOKE_EVERY == 0:
        certificates.revoke(
            session,
            who.clerk,
            cert.serial,
            "复核发现部分学时由他人代学（同一设备多人签到），撤销证书并退回补贴",
        )


def _plan_claims(
    session: Session,
    timeline: _Timeline,
    staff: dict[str, list[User]],
    provincial: User,
    year: int,
    quarter: int,
    filed: datetime,
) -> None:
    """Each institution files the quarter's certificates ten days after it ends; the provincial
    regulator decides 示范学校's lines (one rejected), approves and, after the public notice,
    pays; 天河's batch waits for evidence on one line; 宝安's is still under review."""
    batches: dict[str, uuid.UUID] = {}
    regulator = Principal.of_user(provincial)

    def file(code: str) -> None:
        try:
            with session.begin_nested():
                batch = claims.file_quarter(
                    session, Principal.of_user(staff[code][0]), year=year, quarter=quarter
                )
        except DomainError:  # nothing to claim this quarter
            return
        batches[code] = batch.id

    def roles() -> dict[str, str]:
        """Which filed batch is approved and paid (示范学校's, or the first that filed: how
        many certificates a quarter holds varies with the moment the history is simulated),
        and which waits for evidence (天河's, or another); any other stays under review."""
        filed = [c for c in ("DEMO01", "SZBA01", "GZTH01") if c in batches]
        if not filed:
            return {}
        out: dict[str, str] = {filed[0]: "approve"}
        other = [c for c in ("GZTH01", "SZBA01", "DEMO01") if c in batches and c not in out]
        if other:
            out[other[0]] = "evidence"
        return out

    def review() -> None:
        for code, decide in roles().items():
            lines = claims.lines_of(session, session.get_one(ClaimBatch, batches[code]))
            for n, line in enumerate(lines):
                if decide == "evidence":
                    if n == 0:
                        claims.review_line(
                            session,
                            regulator,
                            line.id,
                            decision=LineDecision.evidence_requested,
                            reason="请补充该学员的签到与点名人脸记录截图",
                        )
                    continue
                rejected = n == len(lines) - 1 and len(lines) > 1
                claims.review_line(
                    session,
                    regulator,
                    line.id,
                    decision=LineDecision.rejected if rejected else LineDecision.approved,
                    reason="学员参保地不在本省，不符合本地补贴条件" if rejected else None,
                )
            if decide == "approve":
                claims.approve_batch(session, regulator, batches[code])

    def pay() -> None:
        approved = [code for code, decide in roles().items() if decide == "approve"]
        if not approved:
            return
        batch = session.get_one(ClaimBatch, batches[approved[0]])
        total = sum(line.amount_fen for line in claims.approved_lines(session, batch))
        try:
            with session.begin_nested():
                claims.record_payment(
                    session,
                    regulator,
                    batch.id,
                    amount_fen=total,
                    paid_on=clock.now().astimezone(clock.SHANGHAI).date(),
                    reference=f"粤财社〔{year}〕{quarter}0{len(batches)}号",
                )
        except DomainError:  # the notice is not over (a short history): stays approved
            return

    for i, code in enumerate(("DEMO01", "SZBA01", "GZTH01")):
        timeline.at(filed + timedelta(hours=i), partial(file, code))
    timeline.at(filed + timedelta(days=9), review)
    notice = get_settings().claims_notice_days
    timeline.at(filed + timedelta(days=9 + notice + 3), pay)


def _decide(session: Session, clerk: Principal, event_id: uuid.UUID, approve: bool) -> None:
    from app.attendance import review

    review.review(
        session,
        clerk,
        event_id,
        approve=approve,
        reason="核对学习记录与本人照片，确认为本人学习" if approve else "画面中不是本人，不予认定",
    )


def _seed_learners(
    session: Session,
    rng: random.Random,
    insts: dict[str, Institution],
    staff: dict[str, list[User]],
    runs: list[_Run],
    frozen: clock.FrozenClock,
    real_now: datetime,
    progress: ProgressFn,
    provincial: User,
) -> int:
    """Learners join over the first five months, each enrolled by their institution's staff
    into one course (a quarter also into a second course of the same institution); the first
    ``HISTORY_LEARNERS`` registered themselves, consented and study (see :func:`_study`)."""
    today = real_now.astimezone(clock.SHANGHAI).date()
    by_inst: dict[str, list[_Run]] = {}
    for run in runs:
        if run.classes:
            by_inst.setdefault(run.spec.inst, []).append(run)
    codes = list(by_inst)
    start = frozen.now()
    joined = sorted(rng.uniform(0.5, 150.0) for _ in range(LEARNERS - HISTORY_LEARNERS))
    joined = [rng.uniform(0.2, 20.0) for _ in range(HISTORY_LEARNERS)] + joined
    timeline = _Timeline(frozen, real_now - timedelta(hours=1))
    # After every evening sitting (the latest starts at 20:50 for at most 50 minutes); the clock
    # runs in UTC (an audit entry hashes its time as written).
    agent_evening = (
        (start + timedelta(days=45)).astimezone(clock.SHANGHAI).replace(hour=22, minute=30)
    ).astimezone(UTC)
    enrolled = 0
    opened: set[uuid.UUID] = set()

    def enrol(n: int, name: str, number: idcard.IdNumber, group: LearnerGroup) -> None:
        nonlocal enrolled
        code = codes[n % len(codes)]
        inst = insts[code]
        clerk = Principal.of_user(staff[code][n % 2])
        history = n < HISTORY_LEARNERS
        if history:
            learner = accounts.register_learner(
                session,
                username=f"xy{number.value[-6:]}{n:03d}",
                password=secrets.token_urlsafe(18),  # nobody signs in as them
                real_name=name,
                id_number=number.value,
                group=group,
                institution_id=inst.id,
            )
            accounts.set_biometric_consent(session, learner, granted=True)
        else:
            learner = activation.create_pending_learner(
                session,
                real_name=name,
                id_number=number,
                phone=None,
                group=group,
                institution_id=inst.id,
                actor=clerk.actor,
                via="staff",
            )
        own = by_inst[code]
        picks = [own[(n // len(codes)) % len(own)] if history else rng.choice(own)]
        if not history and rng.random() < 0.25:
            other = rng.choice(by_inst[code])
            if other is not picks[0]:
                picks.append(other)
        for run in picks:
            klass = run.classes[0 if joined[n] < 60 else 1]
            if klass.id not in opened and klass.status.value == "planned":
                classes.open_class(session, clerk, klass.id)
            opened.add(klass.id)
            enrollment = classes.enrol_learner(session, clerk, klass.id, learner.id)
            enrolled += 1
            if history:
                # The institution (in codes' order) of n % 3 == 2: six of its learners.
                agent_at = (
                    agent_evening + timedelta(minutes=n // 3) if n % 3 == 2 and n < 18 else None
                )
                _plan_history(
                    session, rng, n, learner, clerk, enrollment, run.course, timeline, agent_at
                )

    for n, (name, number, group) in enumerate(_people(rng, LEARNERS, today)):
        when = start + timedelta(days=joined[n], hours=rng.uniform(0, 9))
        timeline.at(when, partial(enrol, n, name, number, group))
    # Subsidy claims for the last quarter that ended at least ten days into the history.
    q_end = _quarter_start((start + timedelta(days=130)).astimezone(clock.SHANGHAI).date())
    q_start = _quarter_start(q_end - timedelta(days=1))
    quarter = (q_start.month - 1) // 3 + 1
    filed = datetime(q_end.year, q_end.month, 10, 2, 0, tzinfo=UTC)
    _plan_claims(session, timeline, staff, provincial, q_start.year, quarter, filed)
    timeline.play(progress)
    return enrolled


def _quarter_start(d: date) -> date:
    return date(d.year, (d.month - 1) // 3 * 3 + 1, 1)


def _plan_history(
    session: Session,
    rng: random.Random,
    n: int,
    user: User,
    clerk: Principal,
    enrollment: Enrollment,
    course: Course,
    timeline: _Timeline,
    agent_at: datetime | None,
) -> None:
    """Sittings every few days until the required time is (roughly) reached; some learners
    stop halfway (drop-outs); a few are the fraud report's planted patterns."""
    who = _Learner(user, clerk, ip=f"183.{14 + n % 7}.{rng.randint(1, 254)}.{rng.randint(1, 254)}")
    target = course.required_minutes * (rng.uniform(0.3, 0.7) if n % 6 == 5 else 1.25)
    if course.title == _SLACK_COURSE:  # planted: a class that fails and misses its roll-calls
        who.fail, who.miss, target = 0.3, 0.3, course.required_minutes * 1.6
    day = clock.now() + timedelta(days=rng.uniform(1, 4))
    planned = 0
    while planned < target:
        minutes = rng.randint(25, 50)
        hour = rng.choice((9, 10, 14, 15, 19, 20))  # UTC+8 daytime and evening
        sit = day.astimezone(clock.SHANGHAI).replace(hour=hour, minute=rng.randint(0, 50))
        # The slack course's learners break off early and come back more often.
        planned += min(minutes, 12) if who.fail >= 0.3 else minutes
        timeline.at(
            sit.astimezone(UTC),
            partial(
                _study,
                session,
                rng,
                who,
                enrollment,
                course,
                minutes,
                timeline,
                last=planned >= target,
            ),
        )
        day += timedelta(days=rng.uniform(1, 6))
    if agent_at is not None:
        # Planted: on one evening an agent checks in one learner after another from one
        # address (the fraud report's "crowded address"), a minute each.
        agent = _Learner(user, clerk, ip=_AGENT_IP)
        timeline.at(agent_at, lambda: _study(session, rng, agent, enrollment, course, 1, timeline))


def seed_if_empty(session: Session) -> list[DemoLogin] | None:
    """The demo's logins after seeding, or None (nothing added) if the database has users."""
    if accounts.count_users(session) > 0:
        return None
    return seed(session).logins
