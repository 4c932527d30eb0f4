"""``riskengine backtest``: precision and recall per pattern, from a replay's alerts and labelled episodes."""

from riskengine_tools.backtest.labels import LABEL_KEYS, LabelsError, read_alerts, read_labels
from riskengine_tools.backtest.matching import Alert, Episode, PatternScore, matches, score
from riskengine_tools.backtest.run import (
    DEFAULT_RULES,
    RuleSet,
    RuleSetResult,
    backtest_rule_set,
    load_rule_set,
    report_document,
)

__all__ = [
    "DEFAULT_RULES",
    "LABEL_KEYS",
    "Alert",
    "Episode",
    "LabelsError",
    "PatternScore",
    "RuleSet",
    "RuleSetResult",
    "backtest_rule_set",
    "load_rule_set",
    "matches",
    "read_alerts",
    "read_labels",
    "report_document",
    "score",
]
