"""The program on record: incidents, online outcomes, stakeholder surveys, prompt versions,
composite scores and the program KPIs built from them (docs/ops.md, docs/warehouse.md).

Layers (docs/architecture.md): ``incidents.py``, ``online.py``, ``surveys.py``,
``composite.py`` are statistics (frames in, tidy rows out); ``study*.py`` read the warehouse.
"""

from .composite import (
    DEFAULT_COMPOSITE,
    composite_gate,
    composite_scores,
    composite_uplift,
    load_composite_config,
    weights_of,
)
from .incidents import SEVERITIES, incident_rates, time_to_mitigate
from .online import release_did
from .prompts import prompt_success_uplift, prompt_version_uplift
from .study_composite import composite_study
from .study_incidents import (
    DEFAULT_MITIGATE_SLA_HOURS,
    incident_examples,
    incident_regression_cases,
    incident_reproduction,
    incident_time_to_mitigate,
    incident_timeline,
    load_incidents,
    open_incident_risks,
    pick_incident,
    prevention_actions,
    record_end,
)
from .study_prompts import online_prompt_uplift, prompt_uplift, prompt_versions_in_order
from .study_record import guideline_log, has_table, log_guideline_change
from .surveys import quarter_of, satisfaction_by_quarter
from .verdict_incidents import post_incident_verdict

__all__ = [
    "DEFAULT_MITIGATE_SLA_HOURS",
    "incident_examples",
    "incident_regression_cases",
    "incident_reproduction",
    "incident_time_to_mitigate",
    "incident_timeline",
    "load_incidents",
    "open_incident_risks",
    "pick_incident",
    "post_incident_verdict",
    "prevention_actions",
    "record_end",
    "DEFAULT_COMPOSITE",
    "SEVERITIES",
    "composite_gate",
    "composite_scores",
    "composite_study",
    "composite_uplift",
    "guideline_log",
    "has_table",
    "incident_rates",
    "load_composite_config",
    "log_guideline_change",
    "online_prompt_uplift",
    "prompt_success_uplift",
    "prompt_uplift",
    "prompt_version_uplift",
    "prompt_versions_in_order",
    "quarter_of",
    "release_did",
    "satisfaction_by_quarter",
    "time_to_mitigate",
    "weights_of",
]
