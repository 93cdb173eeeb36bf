"""Pure-numpy scoring: 360 feedback, reliability and resident satisfaction.

Imports only the standard library, numpy and scipy (enforced by a test).
"""
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
]
