"""Plan a segmentation config from the data (``colorseg segment plan``), no Lightning involved.

* :mod:`~colorseg.planning.fingerprint`: the data's fingerprint (the only module that reads files);
* :mod:`~colorseg.planning.evidence`: the measured benchmark figures the rules follow;
* :mod:`~colorseg.planning.rules`: pure functions, fingerprint → choices with reasons;
* :mod:`~colorseg.planning.config_writer`: choices → commented YAML and the terminal summary;
* :mod:`~colorseg.planning.planner`: :func:`plan_segmentation`, the whole run.
"""

from __future__ import annotations

from colorseg.planning.planner import PlanResult, plan_segmentation

__all__ = ["PlanResult", "plan_segmentation"]
