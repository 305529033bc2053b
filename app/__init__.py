"""SkillTrace: subsidy-eligible online vocational training with face-verified attendance."""

__version__ = "0.1.0"
