"""XLSForm in and out (placeholder)."""
from .workbook import read_journey_workbook


def read_any_workbook(source):
    return read_journey_workbook(source)
