"""Examples of the classes' (班级/期次) schemas: classes, rosters, enrolment into a class and
activation."""

from __future__ import annotations

from typing import Any

from app.api.examples.values import (
    CLASS_ID,
    COURSE_ID,
    CREATED_AT,
    ENROLLMENT_ID,
    ID_MASKED,
    ID_NUMBER,
    INSTITUTION_ID,
    LEARNER_ID,
    STAFF_ID,
)

CLASS_OUT = {
    "class_id": CLASS_ID,
    "course_id": COURSE_ID,
    "institution_id": INSTITUTION_ID,
    "code": "2026-03",
    "name": "2026年第3期低压电工作业（初级）培训班",
    "is_default": False,
    "starts_on": "2026-03-02",
    "ends_on": "2026-04-17",
    "capacity": 60,
    "head_teacher_id": STAFF_ID,
    "head_teacher_name": "李建国",
    "status": "open",
    "opened_at": "2026-03-02T08:30:00+08:00",
    "closed_at": None,
    "enrolled": 48,
    "completed": 0,
    "seats_left": 12,
}
ROSTER_ENTRY = {
    "enrollment_id": ENROLLMENT_ID,
    "learner_id": LEARNER_ID,
    "real_name_masked": "张*华",
    "id_number_masked": ID_MASKED,
    "employer": "深圳市南山区城市建设集团有限公司",
    "enrolled_at": CREATED_AT,
    "credited_minutes": 1265,
    "required_minutes": 2400,
    "quiz_passed": False,
    "rollcall_pass_rate": 96,
    "completed_at": None,
    "missing_zh": ["还需完成 1135 分钟有效学时", "需通过考试（60 分及以上）"],
}
ROSTER_IMPORT_ID = "e4d3c2b1-a098-4f7e-8d6c-5b4a39281706"
ROSTER_ERROR = {
    "row": 12,
    "field": "id_number",
    "code": "id_check_digit",
    "message_zh": "第 12 行 身份证号：校验码不对（最后一位与前 17 位不符），请核对是否录错",
    "message_en": "row 12, id_number: has a wrong check character",
}
ENROLLED_LEARNER = {
    "row": 2,
    "learner_id": LEARNER_ID,
    "enrollment_id": ENROLLMENT_ID,
    "real_name_masked": "张*华",
    "id_number_masked": ID_MASKED,
    "activation_code": "K7QH-3M9X-PT4A",
}
CLASSES: dict[str, Any] = {
    "ClassIn": {
        "code": "2026-03",
        "name": CLASS_OUT["name"],
        "starts_on": "2026-03-02",
        "ends_on": "2026-04-17",
        "capacity": 60,
        "head_teacher_id": STAFF_ID,
    },
    "ClassUpdateIn": {"capacity": 80, "ends_on": "2026-04-24"},
    "ClassOut": CLASS_OUT,
    "RosterEntryOut": ROSTER_ENTRY,
    "RosterOut": {"class": CLASS_OUT, "entries": [ROSTER_ENTRY]},
    "EnrolIntoClassIn": {"learner_id": LEARNER_ID, "employer": ROSTER_ENTRY["employer"]},
    "SelfEnrolIn": {"class_id": CLASS_ID},
    "RosterErrorOut": ROSTER_ERROR,
    "RosterImportOut": {
        "import_id": ROSTER_IMPORT_ID,
        "class_id": CLASS_ID,
        "filename": "2026年第3期名册.xlsx",
        "created_at": CREATED_AT,
        "total_rows": 500,
        "valid_rows": 499,
        "errors": [ROSTER_ERROR],
        "ready": False,
        "committed_at": None,
        "enrolled": 0,
    },
    "EnrolledLearnerOut": ENROLLED_LEARNER,
    "RosterCommitOut": {"import_id": ROSTER_IMPORT_ID, "enrolled": [ENROLLED_LEARNER]},
    "PersonIn": {
        "real_name": "张建华",
        "id_number": ID_NUMBER,
        "phone": "13800138000",
        "group": "企业职工",
        "employer": ROSTER_ENTRY["employer"],
    },
    "ActivateIn": {
        "id_number": ID_NUMBER,
        "activation_code": "K7QH-3M9X-PT4A",
        "username": "zhangjianhua",
        "password": "Gd-Dianli-2026-Safe",
    },
    "ActivatedOut": {"user_id": LEARNER_ID, "username": "zhangjianhua"},
    "Body_check_roster_api_v1_classes__class_id__roster_imports_post": {
        "file": "2026年第3期名册.xlsx"
    },
    "ClassMoveIn": {"class_id": CLASS_ID, "reason": "学员工作调班，申请转入周末班"},
    "ClassMoveOut": {
        "enrollment_id": ENROLLMENT_ID,
        "learner_id": LEARNER_ID,
        "from_class_id": "0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d",
        "class_id": CLASS_ID,
    },
    "ClassEnrolmentOut": {
        "enrollment_id": ENROLLMENT_ID,
        "class_id": CLASS_ID,
        "learner_id": LEARNER_ID,
    },
}
