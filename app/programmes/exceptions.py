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
