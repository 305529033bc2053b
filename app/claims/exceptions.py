"""Errors the claims services raise; codes are the REST contract.

Exception tree::

    DomainError (app.errors)
     ├── ValidationFailed
     │    ├── InvalidClaimInput       422 invalid_claim_input    (a reason, amount, date or text)
     │    ├── PaymentMismatch         422 payment_amount_mismatch (carries expected_fen)
     │    ├── InvalidPayeeAccount     422 invalid_payee_account  (a learner's account number)
     │    └── DeclarationRequired     422 insurance_declaration_required
     ├── BatchNotFound                404 claim_batch_not_found
     ├── LineNotFound                 404 claim_line_not_found
     ├── RecoveryNotFound             404 recovery_not_found
     ├── ObjectionNotFound            404 objection_not_found
     ├── NoticeNotFound               404 notice_not_found       (not in notice, or not public)
     ├── Forbidden
     │    └── FilingBlocked           403 claim_filing_blocked   (overdue open recoveries)
     └── Conflict
          ├── NothingToClaim          409 nothing_to_claim
          ├── ClassNotClaimable       409 class_not_claimable    (not this institution's, or
          │                                                       not completed; class_status)
          ├── CompletionNotApproved   409 completion_filing_not_approved (结业备案 missing,
          │                                                       pending or returned)
          ├── BatchNotReviewable      409 batch_not_reviewable   (not filed any more)
          ├── LinesUndecided          409 lines_undecided        (carries line numbers)
          ├── NoticeNotOver           409 notice_not_over        (carries notice_ends_at)
          ├── ObjectionsOpen          409 objections_open
          ├── BatchNotPayable         409 batch_not_payable
          ├── LineNotPaid             409 line_not_paid
          ├── RecoveryClosed          409 recovery_closed
          ├── ObjectionClosed         409 objection_closed
          ├── NoIndividualProgramme   409 no_individual_programme (the institution claims it)
          ├── CertificateClaimed      409 certificate_already_claimed
          └── NotEligible             409 subsidy_not_eligible   (carries the refusing rules)
"""

from __future__ import annotations

from app.errors import Conflict, DomainError, Forbidden, ValidationFailed


class InvalidClaimInput(ValidationFailed):
    code = "invalid_claim_input"
    message_zh = "填写的内容有误，请检查后重试。"
    message_en = "The claim input is not valid."


class PaymentMismatch(ValidationFailed):
    code = "payment_amount_mismatch"
    message_zh = "支付金额与核准金额不一致。"
    message_en = "The amount paid differs from the approved amount."


class BatchNotFound(DomainError):
    code = "claim_batch_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该补贴申领批次。"
    message_en = "No such claim batch."


class LineNotFound(DomainError):
    code = "claim_line_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该申领明细。"
    message_en = "No such claim line."


class RecoveryNotFound(DomainError):
    code = "recovery_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该追回事项。"
    message_en = "No such recovery item."


class ObjectionNotFound(DomainError):
    code = "objection_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该异议。"
    message_en = "No such objection."


class NoticeNotFound(DomainError):
    code = "notice_not_found"
    status = 404
    title = "Not found"
    message_zh = "该公示不存在或已结束。"
    message_en = "No such notice, or its notice period is over."


class FilingBlocked(Forbidden):
    code = "claim_filing_blocked"
    message_zh = "贵机构有逾期未追回的补贴资金，追回前不能提交新的申领。"
    message_en = "The institution has overdue open recoveries; it cannot file new claims."


class NothingToClaim(Conflict):
    code = "nothing_to_claim"
    message_zh = "该期间没有可申领补贴的证书（或均已申领）。"
    message_en = "No eligible, unclaimed certificate in this period."


class ClassNotClaimable(Conflict):
    code = "class_not_claimable"
    message_zh = "只有本机构已结业的班级才能申领补贴。"
    message_en = "Only a completed class of this institution can be claimed."


class CompletionNotApproved(Conflict):
    """A class is claimed only once the regulator approved its completion filing (结业备案);
    ``completion_filing_status`` says where it stands: ``none``, ``pending`` or ``returned``."""

    code = "completion_filing_not_approved"
    message_zh = (
        "该班级的结业备案尚未经人社部门同意（未提交、待审核或已退回），不能按班级申领补贴："
        "请先提交结业备案并等待同意。"
    )
    message_en = (
        "The class's completion filing (结业备案) has not been approved by the regulator (not "
        "filed, awaiting a decision, or returned): a class is claimed once it is approved."
    )


class BatchNotReviewable(Conflict):
    code = "batch_not_reviewable"
    message_zh = "该批次已审核完毕，不能再更改审核结果。"
    message_en = "The batch is no longer under review."


class LinesUndecided(Conflict):
    code = "lines_undecided"
    message_zh = "还有明细未审核（或在等待补充材料），不能批准该批次。"
    message_en = "Some lines are not decided yet (or wait for evidence)."


class NoticeNotOver(Conflict):
    code = "notice_not_over"
    message_zh = "公示期未满，不能登记支付。"
    message_en = "The public notice period is not over yet."


class ObjectionsOpen(Conflict):
    code = "objections_open"
    message_zh = "该批次有未处理的公示异议，处理后才能登记支付。"
    message_en = "The batch has unresolved objections."


class BatchNotPayable(Conflict):
    code = "batch_not_payable"
    message_zh = "该批次尚未批准，或已登记支付。"
    message_en = "The batch is not approved, or already paid."


class LineNotPaid(Conflict):
    code = "line_not_paid"
    message_zh = "该明细尚未支付，无需追回；请在审核中驳回。"
    message_en = "The line was not paid; reject it instead of recovering."


class RecoveryClosed(Conflict):
    code = "recovery_closed"
    message_zh = "该追回事项已办结。"
    message_en = "The recovery item is already settled."


class ObjectionClosed(Conflict):
    code = "objection_closed"
    message_zh = "该异议已处理。"
    message_en = "The objection is already resolved."


class InvalidPayeeAccount(ValidationFailed):
    code = "invalid_payee_account"
    message_zh = (
        "账号有误：请填写本人社会保障卡金融账户或银行借记卡的卡号（16 至 19 位数字），并逐位核对。"
    )
    message_en = (
        "The account number is not valid: give the 16 to 19 digits of your own social security "
        "card's or debit card's number, and check each digit."
    )


class DeclarationRequired(ValidationFailed):
    code = "insurance_declaration_required"
    message_zh = "请确认您是参加失业保险的企业职工：该补贴只发给参保职工，人社部门将核验参保记录。"
    message_en = (
        "Confirm that you are an employee insured against unemployment: this subsidy is paid "
        "only to insured employees, and the regulator checks the insurance records."
    )


class NoIndividualProgramme(Conflict):
    code = "no_individual_programme"
    message_zh = (
        "本证书没有由个人申领的补贴项目（如参保职工技能提升补贴）；其培训补贴由培训机构申领。"
    )
    message_en = (
        "No programme paying individuals (such as the skill-upgrading subsidy for insured "
        "employees) applies to this certificate; the institution claims its subsidy."
    )


class CertificateClaimed(Conflict):
    code = "certificate_already_claimed"
    message_zh = "本证书已申领过补贴（由您本人或培训机构提交），不能重复申领。"
    message_en = "A subsidy was already claimed for this certificate (by you or the institution)."


class NotEligible(Conflict):
    code = "subsidy_not_eligible"
    message_zh = "按现行规则，本证书暂不符合补贴条件；各项规则的结果见证书页面。"
    message_en = "By the current rules the certificate is not eligible; see each rule's outcome."
