"""Claim batch exports a payment office can use: XLSX and JSON Lines, signed.

Regulators (within their jurisdiction) export with **full ID numbers** and must say why; staff
export their own institution's batches with masked ID numbers. Every export is audited in the
institution's chain (who, why, format, whether full ID numbers left, the file's SHA-256) in the
same transaction as the export is made.

The file is signed by a detached JWS (RFC 7515 appendix F): the compact serialisation with an
empty payload part, ``BASE64URL(header)..BASE64URL(signature)``, over the file's bytes, with the
platform's RSA key (``alg: RS256``; ``kid`` the key's URL, and the key is listed at
``/.well-known/jwks.json``). A receiver verifies it with any JOSE library, given the file and the
JWKS only. Each JSON Lines record follows ``schema/claim-line-v1.schema.json`` (served at
``/schemas/claim-line-v1.schema.json``).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jwt.api_jws import PyJWS
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlmodel import Session

from app import clock
from app.accounts.models import Institution, Role
from app.accounts.principal import Principal
from app.audit import service as audit
from app.certificates import credential
from app.certificates.claims import XLSX
from app.certificates.subsidy import yuan
from app.claims.accounts import ACCOUNT_PURPOSE
from app.claims.exceptions import BatchNotFound, InvalidClaimInput
from app.claims.models import ClaimBatch
from app.claims.service import BatchView, sha256_hex, standing, subject, view
from app.courses.models import LEVEL_NAMES_ZH, Level
from app.crypto import decrypt
from app.errors import Forbidden
from app.spreadsheet import append_xlsx_row
from app.validation import check_text

SCHEMA_FILE = Path(__file__).parent / "schema" / "claim-line-v1.schema.json"
SCHEMA_ID = "skilltrace.claim-line.v1"
JSONL = "application/jsonl"
Format = Literal["jsonl", "xlsx"]


@cache
def line_schema() -> dict[str, Any]:
    """The JSON Schema every JSON Lines record follows."""
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    media_type: str
    filename: str
    sha256: str
    #: Detached compact JWS over ``content`` (``header..signature``).
    jws: str
    full_id_numbers: bool


BUNDLE = "application/zip"


def bundle(out: ExportFile) -> tuple[str, bytes]:
    """The export as one download for a person (a browser drops the response's headers): a ZIP
    holding the file, its detached JWS (``<file>.jws``) and its SHA-256 (``<file>.sha256``, the
    ``sha256sum`` format), so the receiving office can check origin and integrity offline with
    the JWKS alone. Returns the ZIP's name and bytes."""
    stamp = clock.now().astimezone(clock.SHANGHAI).timetuple()[:6]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in (
            (out.filename, out.content),
            (f"{out.filename}.jws", out.jws.encode()),
            (f"{out.filename}.sha256", f"{out.sha256}  {out.filename}\n".encode()),
        ):
            z.writestr(zipfile.ZipInfo(name, date_time=stamp), data, zipfile.ZIP_DEFLATED)
    return f"{out.filename}.zip", buf.getvalue()


def sign_detached(content: bytes) -> str:
    """A detached compact JWS over ``content`` with the platform's RSA signing key (RS256, the
    algorithm every JOSE library and payment system supports; the key that signs credentials)."""
    key = credential.signing_key()
    kid = credential.public_jwk(key.public_key())["kid"]
    return PyJWS().encode(
        content,
        key,
        algorithm="RS256",
        headers={"kid": kid, "typ": "JOSE"},
        is_payload_detached=True,
    )


def _payee_account(v: BatchView, line_id: Any, full: bool) -> dict[str, Any] | None:
    """The account a learner gave in their own application, for the payment office: the full
    number in a regulator's export (decrypted only here), masked in the institution's."""
    app = v.application
    if app is None or app.line_id != line_id:
        return None
    number = decrypt(ACCOUNT_PURPOSE, app.account_enc).decode() if full else app.account_masked
    return {
        "kind": app.account_kind.value,
        "number": number,
        "masked": not full,
        "bank_name": app.bank_name,
    }


def _records(session: Session, v: BatchView, full: bool) -> list[dict[str, Any]]:
    batch = v.batch
    inst = session.get(Institution, batch.institution_id)
    assert inst is not None  # noqa: S101 - the foreign key
    out = []
    for line in v.lines:
        reviews = v.reviews[line.id]
        number = line.id_number_masked
        if full and line.id_number_enc:
            number = decrypt("id_number", line.id_number_enc).decode()
        out.append(
            {
                "schema": SCHEMA_ID,
                "batch_id": str(batch.id),
                "batch_reference": batch.reference,
                "batch_status": batch.status.value,
                "institution": {"id": str(inst.id), "code": inst.code, "name": inst.name},
                "period": {
                    "kind": batch.period_kind,
                    "year": batch.year,
                    "quarter": batch.quarter,
                    "class_id": str(batch.class_id) if batch.class_id else None,
                },
                "payee": batch.payee.value,
                "line_id": str(line.id),
                "line_no": line.no,
                "revision": line.revision,
                "corrects_line_id": str(line.corrects_line_id) if line.corrects_line_id else None,
                "certificate_serial": line.serial,
                "learner": {
                    "id": str(line.user_id),
                    "name": line.learner_name,
                    "id_number": number,
                    "id_number_masked": number == line.id_number_masked,
                    "group": line.learner_group.value if line.learner_group else None,
                },
                "course_title": line.course_title,
                "occupation_code": line.occupation_code,
                "occupation_name": line.occupation_name,
                "level": line.level.value,
                "credited_minutes": line.credited_minutes,
                "issued_at": audit.format_time(line.issued_at),
                "programme_id": str(line.programme_id) if line.programme_id else None,
                "standard_version_id": (
                    str(line.standard_version_id) if line.standard_version_id else None
                ),
                "amount_fen": line.amount_fen,
                "rules": line.rules,
                "content_hash": line.content_hash,
                "decision": d.value if (d := standing(reviews)) else None,
                "decision_reason": reviews[-1].reason if reviews else None,
                "paid": line.id in v.paid,
                "payee_account": _payee_account(v, line.id, full),
            }
        )
    return out


def to_jsonl(records: list[dict[str, Any]]) -> bytes:
    return b"".join(
        json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        for r in records
    )


HEADER = [
    "序号 No.",
    "姓名 Name",
    "身份证号 ID number",
    "证书编号 Serial",
    "职业编码 Occupation code",
    "职业（工种）Occupation",
    "等级 Level",
    "有效学时（分钟）Minutes",
    "补贴金额（元）Amount (yuan)",
    "补贴金额（分）Amount (fen)",
    "审核结果 Decision",
    "审核意见 Reason",
    "已支付 Paid",
    "明细指纹 Content SHA-256",
]


def to_xlsx(batch: ClaimBatch, inst_name: str, records: list[dict[str, Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # noqa: S101 - a new workbook always has its first sheet
    ws.title = "申领明细 Lines"
    append_xlsx_row(ws, HEADER)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in records:
        append_xlsx_row(
            ws,
            [
                r["line_no"],
                r["learner"]["name"],
                r["learner"]["id_number"],
                r["certificate_serial"],
                r["occupation_code"],
                r["occupation_name"],
                LEVEL_NAMES_ZH[Level(r["level"])],
                r["credited_minutes"],
                yuan(r["amount_fen"]),
                r["amount_fen"],
                r["decision"] or "",
                r["decision_reason"] or "",
                "是 yes" if r["paid"] else "否 no",
                r["content_hash"],
            ],
        )
    widths = (8, 10, 22, 22, 14, 16, 14, 12, 14, 14, 12, 30, 10, 66)
    for letter, width in zip("ABCDEFGHIJKLMN", widths, strict=True):
        ws.column_dimensions[letter].width = width
    info = wb.create_sheet("批次 Batch")
    for pair in (
        ("批次编号 Reference", batch.reference),
        ("培训机构 Institution", inst_name),
        ("状态 Status", batch.status.value),
        ("明细条数 Lines", batch.line_count),
        ("申领合计（分）Total filed (fen)", batch.total_fen),
        ("明细总指纹 Lines SHA-256", batch.lines_hash),
        *(
            (f"收款账户 Payee account (line {r['line_no']})", r["payee_account"]["number"])
            for r in records
            if r.get("payee_account")
        ),
        ("生成时间 Generated (UTC)", audit.format_time(clock.now())),
    ):
        append_xlsx_row(info, list(pair))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export_batch(
    session: Session,
    principal: Principal,
    batch_id: Any,
    *,
    fmt: Format,
    reason: str | None = None,
) -> ExportFile:
    """Export a batch: regulators with full ID numbers (a reason is required and audited),
    staff of the institution with masked ones."""
    if principal.user is None or principal.role not in (Role.staff, Role.regulator, Role.admin):
        raise Forbidden("Claim exports are for regulators and the institution's staff.")
    v = view(session, principal, batch_id)  # BatchNotFound outside jurisdiction / institution
    full = principal.is_regulator
    why = check_text(reason or "", field="reason", required=full)
    if len(why) > 500:
        raise InvalidClaimInput("reason: at most 500 characters.", field="reason")
    records = _records(session, v, full)
    inst = session.get(Institution, v.batch.institution_id)
    if inst is None:
        raise BatchNotFound()
    if fmt == "jsonl":
        content, media = to_jsonl(records), JSONL
    else:
        content, media = to_xlsx(v.batch, inst.name, records), XLSX
    digest = sha256_hex(content)
    audit.append(
        session,
        actor=principal.actor,
        action="claim.exported",
        subject=subject(v.batch),
        institution_id=v.batch.institution_id,
        payload={
            "format": fmt,
            "full_id_numbers": full,
            "reason": why or None,
            "sha256": digest,
            "lines": len(records),
            "full_payee_accounts": sum(
                1 for r in records if r["payee_account"] and not r["payee_account"]["masked"]
            ),
        },
    )
    suffix = "full" if full else "masked"
    return ExportFile(
        content=content,
        media_type=media,
        filename=f"claims-{v.batch.reference}-{suffix}.{fmt}",
        sha256=digest,
        jws=sign_detached(content),
        full_id_numbers=full,
    )
