"""What each programme kind is called and whom it pays.

Most programmes pay the training institution (就业技能培训, 岗位技能提升培训, 项目制培训) or the
enterprise (企业新型学徒制: "给予企业每人每年4000元以上的职业培训补贴", 国办发〔2019〕24号 §11).
The skill-upgrading subsidy for insured employees (参保职工技能提升补贴, ibid.: "符合条件的企业职工
……按规定给予职业培训补贴或参保职工技能提升补贴") is paid from the unemployment-insurance fund to
the employee, who applies for it personally once certified: that programme pays the individual,
and the learner applies online (全程网办, seed 000's interview: "建立补贴资金网上申领渠道……
努力实现补贴受理审核发放全程网办"; seed 002: "鼓励通过社保卡……").
"""

from __future__ import annotations

from app.programmes.models import ProgrammeKind

PROGRAMME_NAMES_ZH: dict[ProgrammeKind, str] = {
    ProgrammeKind.employment_skills: "就业技能培训",
    ProgrammeKind.upgrading: "岗位技能提升培训",
    ProgrammeKind.project_based: "项目制培训",
    ProgrammeKind.apprenticeship: "企业新型学徒制",
    ProgrammeKind.insured_upgrading: "参保职工技能提升补贴",
}

#: Programmes paid to the learner (to their social security card's or bank card's account),
#: applied for by the learner; every other programme pays the institution, which files claims.
PAYS_INDIVIDUAL: frozenset[ProgrammeKind] = frozenset({ProgrammeKind.insured_upgrading})


def pays_individual(kind: ProgrammeKind) -> bool:
    return kind in PAYS_INDIVIDUAL
