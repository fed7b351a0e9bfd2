"""The data doctor behind ``colorseg data check``: diagnose a data set before training.

Pure diagnosis (numpy / scipy, no Lightning): :mod:`.layout` finds the files as the loaders do,
:mod:`.scan` reads each once, :mod:`.mask_checks` and :mod:`.duplicates` hold the array-level
checks, :mod:`.diagnose` turns records into :class:`Finding` s, :mod:`.fingerprint` summarises
the data set, :mod:`.check` ties it together, :mod:`.summary` prints it. The HTML page is
:mod:`colorseg.reports.data_check_report`.
"""

from __future__ import annotations

from colorseg.data.doctor.check import DataCheck, check_data, fingerprint_data, save_check_json
from colorseg.data.doctor.findings import ERROR, INFO, WARNING, Finding, exit_status
from colorseg.data.doctor.fingerprint import DataFingerprint, MaskDiagnosis, SplitFingerprint

__all__ = ["ERROR", "INFO", "WARNING", "DataCheck", "DataFingerprint", "Finding", "MaskDiagnosis",
           "SplitFingerprint", "check_data", "exit_status", "fingerprint_data", "save_check_json"]
