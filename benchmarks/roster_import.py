"""Roster import: checking and committing an N-row roster in one transaction vs enrolling the
same N people one by one (``roster.enrol_person``, one transaction each), same run.

    .venv/bin/python benchmarks/roster_import.py [--rows 500] [--postgres URL]

A fresh SQLite database under a temporary directory (or the PostgreSQL server given, in a
throwaway database) migrated with Alembic; prints wall times, rows per second and the load
average before and after.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("SKILLTRACE_SECRET_KEY", "bench-secret-key-" + "x" * 32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--postgres", help="postgresql://user@host:port/postgres")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the one-by-one enrolments (large N)"
    )
    args = parser.parse_args()

    from openpyxl import Workbook
    from sqlalchemy import create_engine, text

    from app.accounts import service as accounts
    from app.accounts.idcard import check_char
    from app.accounts.models import Role
    from app.accounts.principal import Principal
    from app.audit.service import Actor
    from app.config import get_settings
    from app.courses import classes, roster
    from app.courses import service as courses
    from app.db import dispose_engines, get_engine, transaction
    from app.migrate import upgrade

    tmp = Path(tempfile.mkdtemp(prefix="roster-bench-"))
    drop = None
    if args.postgres:
        name = f"roster_bench_{uuid.uuid4().hex[:6]}"
        admin_url = args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
        drop = (admin, name)
    else:
        url = f"sqlite:///{tmp / 'bench.db'}"
    os.environ["SKILLTRACE_DATABASE_URL"] = url
    os.environ["SKILLTRACE_DATA_DIR"] = str(tmp / "data")
    get_settings.cache_clear()
    upgrade(url)
    engine = get_engine()
    load_before = os.getloadavg()

    with transaction(engine) as s:
        inst = accounts.create_institution(s, code="BENCH", name="压测学校", actor=Actor.system())
        staff = accounts.create_user(
            s,
            role=Role.staff,
            username="bench_staff",
            password="Bench-Staff-Pass-9",
            institution_id=inst.id,
            actor=Actor.system(),
        )
        p = Principal.of_user(staff)
        course = courses.create_course(
            s, p, title="低压电工作业", occupation_code="6-31-01-03", occupation_name="电工",
            level="level4", required_minutes=60, pass_score=60, subsidy_fen=0,
            policy=courses.CoursePolicy(quiz_question_count=1),
        )  # fmt: skip
        courses.add_lesson(s, p, course.id, title="一", kind="text", body_or_url="x", minutes=60)
        courses.add_question(s, p, course.id, kind="judge", stem="对吗", options=None, answer=[0])
        courses.publish_course(s, p, course.id)
        ks = [
            classes.create_class(
                s, p, course.id, code=f"K{i}", name=f"第{i}期", starts_on=date(2026, 5, 6),
                ends_on=date(2026, 6, 19), capacity=args.rows, head_teacher_id=staff.id,
            )
            for i in range(2)
        ]  # fmt: skip
        class_ids = [k.id for k in ks]

    def ident(i: int) -> str:
        first17 = f"440305{1980 + i // 1000}0612{i % 1000:03d}"
        return first17 + check_char(first17)

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "身份证号", "手机号", "人员类别", "工作单位"])
    for i in range(args.rows):
        sheet.append([f"员工{i}", ident(i), f"139{i:08d}", "企业职工", "深圳市城建集团"])
    buf = io.BytesIO()
    book.save(buf)

    t0 = time.perf_counter()
    with transaction(engine) as s:
        imp, checked = roster.preview(s, p, class_ids[0], buf.getvalue(), "bench.xlsx")
        assert not checked.errors, checked.errors[:3]
    t1 = time.perf_counter()
    with transaction(engine) as s:
        done = roster.commit(s, p, imp.id)
    t2 = time.perf_counter()
    assert len(done) == args.rows
    for i in range(0 if args.no_baseline else args.rows):
        with transaction(engine) as s:
            roster.enrol_person(
                s, p, class_ids[1], real_name=f"员工{i}", id_number=ident(10_000 + i),
                phone=f"138{i:08d}", group="企业职工", employer="深圳市城建集团",
            )  # fmt: skip
    t3 = time.perf_counter()
    load_after = os.getloadavg()
    n = args.rows
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; rows: {n}")
    print(f"check (parse + validate + store): {t1 - t0:.2f} s ({n / (t1 - t0):.0f} rows/s)")
    print(f"commit, one transaction:          {t2 - t1:.2f} s ({n / (t2 - t1):.0f} rows/s)")
    if not args.no_baseline:
        print(f"baseline, one by one:             {t3 - t2:.2f} s ({n / (t3 - t2):.0f} rows/s)")
        print(f"check + commit vs one by one:     {(t3 - t2) / (t2 - t0):.2f}x faster")
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f}")
    dispose_engines()
    if drop is not None:
        admin, name = drop
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
