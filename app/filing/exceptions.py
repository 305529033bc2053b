"""Errors of class filing (开班备案 / 结业备案); codes are the REST contract.

Exception tree::

    DomainError (app.errors)
     ├── ValidationFailed
     │    └── InvalidClassFiling          422 invalid_class_filing
     ├── ClassFilingNotFound              404 class_filing_not_found
     └── Conflict
          ├── ClassNotFileable            409 class_not_fileable      (the default class)
          ├── ClassFilingPending          409 class_filing_pending    (one awaits a decision)
          ├── ClassFilingApproved         409 class_filing_approved   (nothing left to file)
          ├── CompletionNotDue            409 completion_not_due      (the class has not ended)
          ├── OpeningNotApproved          409 opening_not_approved    (completion needs it)
          └── ClassFilingDecided          409 class_filing_decided    (approve/return once)
"""

from __future__ import annotations

from app.errors import Conflict, DomainError, ValidationFailed


class InvalidClassFiling(ValidationFailed):
    code = "invalid_class_filing"
    message_zh = "备案内容有误：请检查培训场地、备注或退回原因（不超过规定字数，退回须写明原因）。"
    message_en = "The filing is not valid (site, note, or the reason for a return)."


class ClassFilingNotFound(DomainError):
    code = "class_filing_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该班级备案。"
    message_en = "Class filing not found."


class ClassNotFileable(Conflict):
    code = "class_not_fileable"
    message_zh = (
        "默认班（自主报名）没有开班和结业日期，不能备案：请为补贴培训安排班级（期次）后备案。"
    )
    message_en = (
        "The default class (self-enrolment) has no dates and cannot be filed: schedule a class "
        "for subsidised training and file that."
    )


class ClassFilingPending(Conflict):
    code = "class_filing_pending"
    message_zh = "该班级的备案正在等待人社部门审核，审核前不能再次提交。"
    message_en = "A filing of this class awaits the regulator's decision; file again after it."


class ClassFilingApproved(Conflict):
    code = "class_filing_approved"
    message_zh = "该班级的此项备案已经人社部门同意，无需再次提交。"
    message_en = "This filing of the class was approved already."


class CompletionNotDue(Conflict):
    code = "completion_not_due"
    message_zh = "班级结业后才能进行结业备案。"
    message_en = "A completion filing (结业备案) is made once the class has ended (结业)."


class OpeningNotApproved(Conflict):
    code = "opening_not_approved"
    message_zh = "该班级的开班备案尚未经人社部门同意，不能进行结业备案。"
    message_en = "The class's opening filing has not been approved: completion cannot be filed."


class ClassFilingDecided(Conflict):
    code = "class_filing_decided"
    message_zh = "该备案已经审核（同意或退回），不能再次审核。"
    message_en = "This filing has been decided (approved or returned) already."
