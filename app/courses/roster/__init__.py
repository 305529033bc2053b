"""Enrolment by institutions and employers: a roster (XLSX or CSV) into a class, or one person.

Columns (the header row names them, in Chinese or English, any order): 姓名 ``real_name``,
身份证号 ``id_number``, 手机号 ``phone`` (optional), 人员类别 ``group`` (optional), 工作单位
``employer`` (optional). Every row is checked (:func:`validate`), and every problem is reported in
words with its row and column — nothing is enrolled while one remains:

- the real name and the employer: text a person can read, never a spreadsheet formula (a cell
  starting with ``=``, ``+``, ``-``, ``@`` or holding a formula is refused, so nothing imported can
  run later in someone's spreadsheet);
- the ID number: GB 11643 (format, birth date, check character); an ID number Excel turned into a
  number (its last digits lost) is named as such;
- duplicates in the file (the later row names the first) and in the database: a learner of the
  institution already enrolled in the course, or an ID number registered elsewhere (someone else's
  account is never taken over by a roster);
- the class: not ended, and enough seats for every row.

:func:`preview` stores the checked rows (encrypted: they hold ID numbers) as a
:class:`~app.courses.models.RosterImport` that staff look at; :func:`commit` enrols them all in
one transaction or none (it checks the database again first): new learners get an account
without password or consent and an activation code (:mod:`app.accounts.activation`), known
learners of the institution are enrolled as they are; each learner gets their audit entries.
:func:`enrol_person` is the same for one person typed into a form.

The package's modules, by section: :mod:`~app.courses.roster.fields` (the columns, limits and
the checked rows' types), :mod:`~app.courses.roster.files` (reading an XLSX or CSV file),
:mod:`~app.courses.roster.checks` (checking rows, against the database and the class) and
:mod:`~app.courses.roster.imports` (preview, commit, one person). Callers import this package:
``from app.courses import roster``.
"""

from __future__ import annotations

from app.accounts.models import GROUP_NAMES_ZH
from app.courses.roster.checks import validate
from app.courses.roster.fields import (
    FIELD_NAMES_ZH,
    FIELDS,
    HEADERS,
    MAX_BYTES,
    MAX_ROWS,
    NAME_CHARS,
    PREVIEW_TTL,
    REQUIRED,
    Checked,
    Enrolled,
    RosterRow,
    RowError,
)
from app.courses.roster.files import parse, read_table
from app.courses.roster.imports import (
    commit,
    enrol_person,
    get_import,
    is_ready,
    preview,
    stored_rows,
)

__all__ = [
    "Checked",
    "Enrolled",
    "FIELDS",
    "FIELD_NAMES_ZH",
    "GROUP_NAMES_ZH",
    "HEADERS",
    "MAX_BYTES",
    "MAX_ROWS",
    "NAME_CHARS",
    "PREVIEW_TTL",
    "REQUIRED",
    "RosterRow",
    "RowError",
    "commit",
    "enrol_person",
    "get_import",
    "is_ready",
    "parse",
    "preview",
    "read_table",
    "stored_rows",
    "validate",
]
