"""The demo's learners as people: Chinese names, valid GB 11643 ID numbers issued where migrant
workers come from, and every target group in its share with its age range."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

from app.accounts import idcard
from app.accounts.idcard import check_char
from app.accounts.models import LearnerGroup
from app.demo.world import DEMO_LEARNER_ID

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


def _id_number(rng: random.Random, birth: date, seq: int) -> idcard.IdNumber:
    origin = rng.choice(_ORIGINS)
    body = f"{origin}{birth:%Y%m%d}{seq % 1000:03d}"
    return idcard.parse(body + check_char(body))


def people(
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
