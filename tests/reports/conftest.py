from tests.reports.xapi_world import world

__all__ = ["world"]
