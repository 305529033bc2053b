"""The certificate as a PDF: A4, Chinese text in an embedded (subset) Noto Sans SC, and a QR
code to the public verification page.

The font ships inside a Python package (``pylopdf-fonts-zh-cn``, SIL OFL 1.1), so rendering
needs no system fonts and no download. fpdf2 embeds only the glyphs used.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import segno
from fpdf import FPDF
from sqlmodel import Session

from app.certificates import photo as photos
from app.certificates import seal as seals
from app.certificates import service as certificates
from app.certificates.credential import hours, verify_url
from app.certificates.models import Certificate, CertificateStatus
from app.certificates.subsidy import pass_rate
from app.clock import SHANGHAI
from app.courses.models import LEVEL_NAMES_ZH

FONT = "NotoSansSC"
ROW = 8  # mm per table row


@lru_cache(maxsize=1)
def font_path() -> Path:
    import pylopdf_fonts_zh_cn

    path = Path(pylopdf_fonts_zh_cn.sans_path())
    if not path.is_file():  # pragma: no cover - a broken install
        raise RuntimeError(f"CJK font missing at {path}; reinstall pylopdf-fonts-zh-cn")
    return path


def qr_png(url: str) -> bytes:
    buf = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buf, kind="png", scale=10, border=4)
    return buf.getvalue()


def duration_zh(minutes: int) -> str:
    """Hours with the exact minutes; under an hour, minutes alone (never "0.0 小时")."""
    if minutes < 60:
        return f"{minutes} 分钟"
    return f"{hours(minutes)} 小时（{minutes} 分钟）"


def training_period(cert: Certificate) -> str:
    """First and last study dates (Asia/Shanghai); "—" when the certificate predates them."""
    if cert.study_started_at is None or cert.study_ended_at is None:
        return "—"
    first = cert.study_started_at.astimezone(SHANGHAI).date().isoformat()
    last = cert.study_ended_at.astimezone(SHANGHAI).date().isoformat()
    return first if first == last else f"{first} 至 {last}"


def statement(cert: Certificate, institution_name: str) -> str:
    """The certificate's sentence. No spaces around the institution's name: Chinese runs on."""
    return (
        f"{cert.learner_name}（身份证号：{cert.id_number_masked}）参加{institution_name}"
        f"组织的“{cert.course_title}”线上职业技能培训，经实名人脸核验的有效学时、"
        "考试和随机点名均达到要求，准予结业，特发此证。"
    )


#: The seal's printed width (a round institutional seal is 40–42 mm across).
SEAL_MM = 40
#: The learner's photo (a 一寸 photo, 25 × 35 mm) in the top right corner, inside the frame,
#: beside the title and above the statement: clear of the text and of the seal further down.
PHOTO_BOX = (160.0, 20.0, 25.0, 35.0)  # x, y, width, height in mm


def document(session: Session, cert: Certificate) -> bytes:
    """The certificate's PDF as every route serves it: its institution, the seal it was issued
    with."""
    return render(
        cert,
        institution_name=certificates.institution_name(session, cert),
        seal_png=seals.seal_of(session, cert),
        photo_png=photos.photo_of(session, cert),
    )


def render(
    cert: Certificate,
    *,
    institution_name: str,
    seal_png: bytes | None = None,
    photo_png: bytes | None = None,
) -> bytes:
    """The certificate's PDF bytes (same input, same content). ``seal_png``: the institution's
    seal (transparent background), stamped over the issue date; ``photo_png``: the learner's
    photo, only when they consent to it (app/certificates/photo.py)."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_creation_date(cert.issued_at)
    pdf.set_title(f"培训合格证明 {cert.serial}")
    pdf.set_author(institution_name)
    pdf.set_subject(cert.course_title)
    pdf.set_auto_page_break(auto=False)
    pdf.add_font(FONT, fname=str(font_path()))
    pdf.add_page()
    # Frame
    pdf.set_draw_color(160, 30, 30)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, 190, 277)
    pdf.set_line_width(0.3)
    pdf.rect(13, 13, 184, 271)
    # Title
    pdf.set_text_color(160, 30, 30)
    pdf.set_font(FONT, size=28)
    pdf.set_xy(10, 30)
    pdf.cell(190, 14, "培训合格证明", align="C")
    pdf.set_font(FONT, size=12)
    pdf.set_xy(10, 46)
    pdf.cell(190, 7, "Certificate of Vocational Training", align="C")
    pdf.set_text_color(0, 0, 0)
    if photo_png is not None:
        x, y, w, h = PHOTO_BOX
        pdf.image(io.BytesIO(photo_png), x=x, y=y, w=w, h=h, keep_aspect_ratio=True)
        pdf.set_draw_color(150, 150, 150)
        pdf.set_line_width(0.2)
        pdf.rect(x, y, w, h)
    # Statement
    pdf.set_font(FONT, size=13)
    pdf.set_xy(25, 62)
    rate = pass_rate(cert)
    pdf.multi_cell(160, 8, statement(cert, institution_name), align="L")
    rows = [
        ("姓名 Name", cert.learner_name),
        ("身份证号 ID (masked)", cert.id_number_masked),
        ("培训课程 Course", cert.course_title),
        ("职业（工种）Occupation", f"{cert.occupation_name}（{cert.occupation_code}）"),
        ("等级 Level", LEVEL_NAMES_ZH[cert.level]),
        ("培训期间 Training period", training_period(cert)),
        ("线上有效学时 Online hours", duration_zh(cert.credited_minutes)),
        *(
            [("线下实训学时 Offline hours", duration_zh(cert.offline_minutes))]
            if cert.offline_minutes is not None
            else []
        ),
        ("考试成绩 Quiz score", "—" if cert.quiz_score is None else f"{cert.quiz_score} 分"),
        (
            "随机点名通过率 Roll-calls",
            f"{'—' if rate is None else f'{rate}%'}（{cert.rollcalls_passed}/"
            f"{cert.rollcalls_total}）",
        ),
        ("培训机构 Institution", institution_name),
        ("发证日期 Issued", cert.issued_at.astimezone(SHANGHAI).date().isoformat()),
        ("证书编号 Serial", cert.serial),
    ]
    y = pdf.get_y() + 5
    pdf.set_font(FONT, size=11)
    for label, value in rows:
        pdf.set_xy(25, y)
        pdf.set_text_color(90, 90, 90)
        pdf.cell(58, ROW, label)
        pdf.set_text_color(0, 0, 0)
        pdf.set_xy(83, y)
        pdf.multi_cell(102, ROW, value, align="L")
        y = max(y + ROW, pdf.get_y())
        pdf.set_draw_color(220, 220, 220)
        pdf.line(25, y, 185, y)
    # Where the institution seals and its head signs the printed copy.
    sign_y = max(y + 8, 198)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_font(FONT, size=11)
    pdf.set_xy(25, sign_y)
    pdf.cell(70, 7, "发证机构（盖章）Seal")
    pdf.set_xy(110, sign_y)
    pdf.cell(36, 7, "负责人签字 Signed")
    pdf.line(148, sign_y + 6, 185, sign_y + 6)
    pdf.set_xy(110, sign_y + 9)
    pdf.cell(75, 7, f"日期 Date  {cert.issued_at.astimezone(SHANGHAI).date().isoformat()}")
    if seal_png is not None:
        # Stamped as on paper: across the issue date; multiplied, so the text shows through
        # the ink as it does through a real stamp.
        with pdf.local_context(blend_mode="Multiply"):
            pdf.image(
                io.BytesIO(seal_png),
                x=134,
                y=sign_y - 8,
                w=SEAL_MM,
                h=SEAL_MM,
                keep_aspect_ratio=True,
            )
    # QR and how to check
    url = verify_url(cert.serial)
    pdf.image(io.BytesIO(qr_png(url)), x=25, y=222, w=45, h=45)
    pdf.set_font(FONT, size=10)
    pdf.set_xy(75, 228)
    pdf.multi_cell(
        110,
        6,
        f"扫描二维码或访问以下网址核验本证书真伪与状态：\n{url}\n"
        "Scan the code or open the address to check this certificate. A signed Open Badges "
        "3.0 credential is issued with it.",
        align="L",
    )
    if cert.status is CertificateStatus.revoked:
        pdf.set_text_color(200, 0, 0)
        pdf.set_font(FONT, size=40)
        with pdf.rotation(30, x=105, y=150):
            pdf.set_xy(20, 140)
            pdf.cell(170, 20, "已撤销 REVOKED", align="C")
        pdf.set_text_color(0, 0, 0)
    return bytes(pdf.output())
