"""Tables of the regulators' side: administrative regions (GB/T 2260)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel


class RegionLevel(StrEnum):
    national = "national"  # 全国: the root, code 000000 (not a GB/T 2260 code)
    province = "province"  # 省级: XX0000
    prefecture = "prefecture"  # 地级: XXXX00
    county = "county"  # 县级: XXXXXX


class Region(SQLModel, table=True):
    """An administrative region by its GB/T 2260 code; a jurisdiction is a region and every
    region under it (the code's significant prefix: 2, 4 or 6 digits)."""

    __tablename__ = "regions"

    code: str = Field(primary_key=True, min_length=6, max_length=6)
    name: str = Field(max_length=64)
    level: RegionLevel = Field(sa_type=SAEnum(RegionLevel, native_enum=False, length=16))
    parent_code: str | None = Field(
        default=None, foreign_key="regions.code", max_length=6, index=True
    )
