"""Errors the certificate, subsidy and claims services raise; codes are the REST contract.

Exception tree::

    DomainError (app.errors)
     ├── ValidationFailed
     │    ├── InvalidRevocation       422 invalid_revocation     (reason empty or too long)
     │    ├── InvalidClaimPeriod      422 invalid_claim_period
     │    └── InvalidSealImage        422 invalid_seal_image     (not a PNG/JPEG, or no seal in it)
     ├── SealImageTooLarge            413 seal_image_too_large
     ├── SealNotFound                 404 seal_not_found
     ├── CertificatePhotoNotFound     404 certificate_photo_not_found (none kept: not consented)
     ├── CertificateNotFound          404 certificate_not_found
     ├── LearnerNotFound              404 learner_not_found
     ├── StatusListNotFound           404 status_list_not_found
     ├── KeyNotFound                  404 key_not_found          (a ``kid`` that is not ours)
     └── Conflict
          ├── NotComplete             409 not_complete           (carries missing, missing_zh)
          ├── AlreadyIssued           409 already_issued         (carries serial)
          ├── NoRealName              409 no_real_name           (the learner has no ID on file)
          ├── CertificatePhotoUnavailable 409 certificate_photo_unavailable (no enrolment crop)
          └── AlreadyRevoked          409 already_revoked
"""

from __future__ import annotations

from app.errors import Conflict, DomainError, ValidationFailed


class InvalidRevocation(ValidationFailed):
    code = "invalid_revocation"
    message_zh = "请填写撤销原因（500 字以内）。"
    message_en = "A revocation needs a reason (at most 500 characters)."


class InvalidClaimPeriod(ValidationFailed):
    code = "invalid_claim_period"
    message_zh = "申领期间有误：请选择年份和季度（1–4）。"
    message_en = "The claim period is not valid (a year and a quarter 1-4)."


class InvalidSealImage(ValidationFailed):
    code = "invalid_seal_image"
    message_zh = "印章图片无效：请上传清晰的 PNG 或 JPEG 印章扫描件（白色或透明背景）。"
    message_en = (
        "The seal image is not valid: upload a clear PNG or JPEG scan of the seal "
        "(white or transparent background)."
    )


class SealImageTooLarge(DomainError):
    code = "seal_image_too_large"
    status = 413
    title = "Seal image too large"
    message_zh = "印章图片太大：文件不超过 2 MB，尺寸不超过 4000×4000 像素。"
    message_en = "The seal image is too large (at most 2 MB and 4000×4000 pixels)."


class SealNotFound(DomainError):
    code = "seal_not_found"
    status = 404
    title = "Not found"
    message_zh = "该机构尚未上传印章。"
    message_en = "This institution has no seal on file."


class CertificatePhotoNotFound(DomainError):
    code = "certificate_photo_not_found"
    status = 404
    title = "Not found"
    message_zh = "您没有开启证书照片，平台未保存用于证书的照片。"
    message_en = "You have not chosen to show a photo on your certificates; none is kept."


class StatusListNotFound(DomainError):
    code = "status_list_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该证书状态列表。"
    message_en = "No such certificate status list."


class KeyNotFound(DomainError):
    code = "key_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该签名公钥。"
    message_en = "No such signing key."


class CertificateNotFound(DomainError):
    code = "certificate_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该证书编号对应的证书。"
    message_en = "No certificate with this serial number."


class LearnerNotFound(DomainError):
    code = "learner_not_found"
    status = 404
    title = "Not found"
    message_zh = "找不到该学员。"
    message_en = "Learner not found."


class NotComplete(Conflict):
    code = "not_complete"
    title = "Not complete"
    message_zh = "课程尚未完成，暂不能颁发培训合格证明。"
    message_en = "The course is not complete yet; no certificate can be issued."


class AlreadyIssued(Conflict):
    code = "already_issued"
    message_zh = "该报名已颁发培训合格证明。"
    message_en = "A certificate was already issued for this enrolment."


class NoRealName(Conflict):
    code = "no_real_name"
    message_zh = "学员未完成实名登记（姓名和身份证号码），不能颁发证书。"
    message_en = "The learner has no real name and ID number on file."


class CertificatePhotoUnavailable(Conflict):
    code = "certificate_photo_unavailable"
    message_zh = (
        "没有可用于证书的照片：证书照片取自您人脸采集时的截图，请先同意人脸信息处理并完成人脸采集；"
        "采集截图超过保存期限被删除后，需重新采集人脸。"
    )
    message_en = (
        "No photo is available for your certificates: it is taken from the crop kept when you "
        "enrolled your face. Consent to face processing and enrol your face first; once that "
        "crop has passed its retention period, enrol your face again."
    )


class AlreadyRevoked(Conflict):
    code = "already_revoked"
    message_zh = "该证书已被撤销。"
    message_en = "This certificate is already revoked."
