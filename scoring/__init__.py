"""Pure-numpy scoring: 360 feedback, reliability, resident satisfaction, team points and the
main assessment.

Imports only the standard library, numpy and scipy (enforced by a test).
"""
from .assessment import (
    AssessmentConfig,
    AssessmentResult,
    IndicatorMatrix,
    IndicatorSpec,
    consecutive_last,
    dual_track,
    rollup,
    score_assessment,
    split_bonus,
    weakest,
)
from .common import Channel, RaterGroup
from .feedback import (
    FeedbackConfig,
    FeedbackScores,
    RaterModelFit,
    RatingSet,
    Reliability,
    fit_rater_model,
    score_feedback,
)
from .reliability import cronbach_alpha, icc_oneway, icc_oneway_long
from .residents import ResidentConfig, ResidentScores, ResidentSet, score_residents
from .team import ClaimSet, PointsRules, TeamPoints, largest_remainder, rank_within, score_team

__all__ = [
    "Channel",
    "RaterGroup",
    "RatingSet",
    "FeedbackConfig",
    "FeedbackScores",
    "Reliability",
    "RaterModelFit",
    "fit_rater_model",
    "score_feedback",
    "ResidentSet",
    "ResidentConfig",
    "ResidentScores",
    "score_residents",
    "icc_oneway",
    "icc_oneway_long",
    "cronbach_alpha",
    "PointsRules",
    "ClaimSet",
    "TeamPoints",
    "score_team",
    "largest_remainder",
    "rank_within",
    "IndicatorSpec",
    "AssessmentConfig",
    "AssessmentResult",
    "IndicatorMatrix",
    "score_assessment",
    "split_bonus",
    "consecutive_last",
    "rollup",
    "dual_track",
    "weakest",
]
