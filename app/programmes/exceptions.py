"""Errors of the programmes domain; codes are part of the REST contract."""

from __future__ import annotations

from app.errors import DomainError, ValidationFailed


class InvalidRegionCode(ValidationFailed):
    code = "invalid_region_code"
    message_zh = "行政区划代码无效：应为 6 位 GB/T 2260 代码（如 440305）。"
    message_en = "The region code is not a 6-digit GB/T 2260 administrative division code."


class RegionNotFound(DomainError):
    code = "region_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该行政区划。"
    message_en = "No region with this code is loaded."


class InvalidRegionFile(ValidationFailed):
    code = "invalid_region_file"
    message_zh = "行政区划文件有误（见详细说明中的行号）。"
    message_en = "The region file is not valid."


class JurisdictionRequired(ValidationFailed):
    code = "jurisdiction_required"
    message_zh = "监管账号必须指定管辖区域（行政区划代码，全国为 000000）。"
    message_en = "A regulator account needs a jurisdiction (a region code; 000000 for national)."


class InvalidOccupationCode(ValidationFailed):
    code = "invalid_occupation_code"
    message_zh = "职业编码无效：应为《国家职业分类大典》格式 X-XX-XX-XX（如 6-31-01-03）。"
    message_en = "The occupation code is not in the national classification's X-XX-XX-XX format."


class InvalidStandard(ValidationFailed):
    code = "invalid_standard"
    message_zh = "补贴标准填写有误（金额、日期、等级或上浮比例）。"
    message_en = "The subsidy standard is not valid."


class StandardAboveCap(ValidationFailed):
    code = "standard_above_cap"
    message_zh = "补贴标准高于上级地区规定的上限。"
    message_en = "The amount is above the cap the upper region set for this occupation and level."


class StandardOverlaps(DomainError):
    code = "standard_overlaps"
    status = 409
    title = "Conflict"
    message_zh = "该地区已有同一职业、等级和项目类型的标准自同日或更晚生效。"
    message_en = "A version of this standard in this region starts on the same day or later."


class StandardNotFound(DomainError):
    code = "standard_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该补贴标准。"
    message_en = "No such subsidy standard (or not in your jurisdiction)."


class StandardNotProposed(DomainError):
    code = "standard_not_proposed"
    status = 409
    title = "Conflict"
    message_zh = "只有待确认的标准可以确认。"
    message_en = "Only a proposed standard can be confirmed."


class OutsideJurisdiction(DomainError):
    code = "outside_jurisdiction"
    status = 403
    title = "Forbidden"
    message_zh = "该地区不在您的管辖范围内。"
    message_en = "This region is outside your jurisdiction."


class InvalidCreditCode(ValidationFailed):
    code = "invalid_credit_code"
    message_zh = "统一社会信用代码无效：应为 18 位，最后一位为 GB 32100 校验码。"
    message_en = "The unified social credit code is not valid."


class InvalidFact(ValidationFailed):
    code = "invalid_fact"
    message_zh = "学员资格信息填写有误（人员类别、证明材料或地区）。"
    message_en = "The learner's fact is not valid."


class FactNotFound(DomainError):
    code = "fact_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该项学员资格信息。"
    message_en = "No such fact about a learner you can see."


class InvalidExternalCertificate(ValidationFailed):
    code = "invalid_external_certificate"
    message_zh = "外部证书信息填写有误（证书种类、编号、发证机构、日期、职业或等级）。"
    message_en = "The external certificate is not valid."


class InvalidScan(ValidationFailed):
    code = "invalid_scan"
    message_zh = (
        "证书扫描件须为完整的 PDF、JPEG 或 PNG 文件，且不超过 5 MB；"
        "文件损坏或不完整时请重新扫描后上传。"
    )
    message_en = (
        "The scan must be one whole PDF, JPEG or PNG file of at most 5 MB; if it is damaged or "
        "cut off, scan it again and upload it."
    )


class ActiveScan(InvalidScan):
    """A PDF with JavaScript, launch or other actions, embedded files or an XFA form: refused
    under the same code, with words saying what to do."""

    message_zh = (
        "这份 PDF 扫描件里带有脚本、自动执行的动作或夹带的文件，为安全起见不能上传。"
        "请直接用扫描仪或手机扫描证书原件，或用“打印为 PDF”另存一份后再上传。"
    )
    message_en = (
        "This PDF carries scripts, actions that run by themselves or attached files, so it "
        "cannot be uploaded. Scan the certificate itself again, or save a copy with "
        '"Print to PDF", and upload that.'
    )


class ScanUnavailable(DomainError):
    """The scan's bytes are gone from the store or differ from the recorded hash: an
    operator's problem (restore it from backup), never silently served."""

    code = "scan_unavailable"
    status = 503
    title = "Scan unavailable"
    message_zh = "证书扫描件暂时无法读取（存储中缺失或与登记的哈希值不符），请联系平台运维。"
    message_en = "The stored scan cannot be read (missing, or not the recorded file)."


class ExternalCertificateExists(DomainError):
    code = "external_certificate_exists"
    status = 409
    title = "Conflict"
    message_zh = "该种类、该编号的证书已经登记过。"
    message_en = "A certificate of this kind with this number is already recorded."


class ExternalCertificateNotFound(DomainError):
    code = "external_certificate_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该外部证书。"
    message_en = "No such external certificate (or not in your jurisdiction)."


class ExternalCertificateDecided(DomainError):
    code = "external_certificate_decided"
    status = 409
    title = "Conflict"
    message_zh = "该证书已经确认或驳回，不能再次处理。"
    message_en = "The certificate was already confirmed or rejected."


# ---------------------------------------------------------------- the institution registry


class CreditCodeTaken(DomainError):
    code = "credit_code_taken"
    status = 409
    title = "Conflict"
    message_zh = "该统一社会信用代码已登记在另一家培训机构名下。"
    message_en = "Another institution is registered with this unified social credit code."


class InvalidRegistryRecord(ValidationFailed):
    code = "invalid_registry_record"
    message_zh = "机构登记信息填写有误（机构类型、法定名称或核准范围）。"
    message_en = "The registry record is not valid (kind, legal name or approved scope)."


class RegistryReasonRequired(ValidationFailed):
    code = "registry_reason_required"
    message_zh = "请填写原因（至少 4 个字）：它会记入该机构的审计日志。"
    message_en = (
        "Give a reason (at least 4 characters); it is recorded in the institution's audit log."
    )


class RegistryTransitionRefused(DomainError):
    code = "registry_transition_refused"
    status = 409
    title = "Conflict"
    message_zh = (
        "该机构当前的登记状态不允许这一操作：待审核或已暂停的机构可以核准，已核准的可以暂停，"
        "已撤销的机构不能再变更。"
    )
    message_en = (
        "The institution's registry status does not allow this change: pending or suspended "
        "institutions can be approved, approved ones suspended; a revoked one cannot change."
    )


class RegistryIncomplete(DomainError):
    code = "registry_incomplete"
    status = 409
    title = "Conflict"
    message_zh = "机构登记信息不完整：核准前须填写统一社会信用代码、法定名称和机构类型。"
    message_en = (
        "The registry record is incomplete: approval needs the credit code, legal name and kind."
    )


class RegistryLocked(DomainError):
    code = "registry_locked"
    status = 409
    title = "Conflict"
    message_zh = (
        "机构登记信息在审核通过后不能由机构自行修改（空缺项可以补填）；如需变更，请联系人社部门。"
    )
    message_en = (
        "Once approved, the registry record cannot be changed by the institution (empty fields "
        "may be filled in); ask the regulator."
    )


class InstitutionNotApproved(DomainError):
    """The one refusal of work that needs an approved institution (opening a class, issuing a
    certificate, filing a claim): app/programmes/registry.py ``ensure_approved``."""

    code = "institution_not_approved"
    status = 409
    title = "Institution not approved"
    message_zh = (
        "本培训机构目前不是人社部门核准的状态（待审核、已暂停或已撤销），可以查看数据，"
        "但不能开班、发放培训合格证明或申报补贴。如有疑问，请联系所在地人社部门。"
    )
    message_en = (
        "The institution is not approved by the regulator (pending, suspended or revoked): its "
        "staff can read, but cannot open classes, issue certificates or file claims."
    )


class OutsideApprovedScope(DomainError):
    """Opening or filing a class, or issuing a certificate, for an occupation and level the
    regulator's approval does not cover: app/programmes/registry.py ``ensure_in_scope``
    (carries ``occupation_code`` and ``level``)."""

    code = "outside_approved_scope"
    status = 409
    title = "Outside the approved scope"
    message_zh = (
        "该职业（工种）和等级不在人社部门核准本机构开展培训的范围内，不能开班、备案或发放培训"
        "合格证明。请向所在地人社部门申请扩大核准范围。"
    )
    message_en = (
        "The regulator's approval of the institution does not cover this occupation and level: "
        "no class opens or is filed, and no certificate is issued, for it. Ask the regulator to "
        "widen the approved scope."
    )
