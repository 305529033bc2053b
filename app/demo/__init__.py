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

One module a step: ``world`` (logins, institutions, staff, regulators), ``catalogue`` (the
courses' contents), ``courses`` (standards, courses, classes and their filings), ``people`` (names
and ID numbers), ``learners`` (joining and enrolment), ``history`` (sittings, quizzes,
certificates and the fraud report's planted patterns), ``claims`` (the quarter's subsidy claims),
``timeline`` (simulated time and progress) and ``seed`` (the steps in order).
"""

from app.demo.seed import DemoResult, check_may_seed, seed, seed_if_empty
from app.demo.timeline import ProgressFn
from app.demo.world import DEMO_LOGINS, DemoLogin, DemoRefused

__all__ = [
    "DEMO_LOGINS",
    "DemoLogin",
    "DemoRefused",
    "DemoResult",
    "ProgressFn",
    "check_may_seed",
    "seed",
    "seed_if_empty",
]
