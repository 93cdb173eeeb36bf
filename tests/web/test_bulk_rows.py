"""Bulk rows. Writes (app.bulk.insert_rows): the JSON text written by the fast path is the same JSON
value as json.dumps wrote, and a COPY that compresses its large values with lz4 leaves the session's
setting as it found it; a score run's breakdown text keeps its entries as before. Reads: 360 answers
read in ranges are put back in answer-id order as a sort would."""
import json
import math

import numpy as np
import sqlalchemy as sa

from app.bulk import insert_rows, json_text
from app.extensions import db

BREAKDOWN = {
    "indicators": [{"code": "soft_360", "name": "360度评价", "unit_of_measure": "%", "raw": 0.1 + 0.2,
                    "normalised": 37.142857142857146, "weight": 30.0, "shown": 11.14, "missing": False,
                    "target": None, "tiny": 5e-324, "huge": 1e16, "negative_zero": -0.0, "count": 3,
                    "details": {"raters": {"peer": 4, "self": 1}, "text": "引号\"、反斜杠\\、换行\n、制表\t"}}],
    "dimensions": [{"code": "law_enforcement", "weight": 30.0, "score": 1 / 3}],
    "total_shown": 88.25, "incomplete": False, "bonus": None, "head": "民警甲（100001）",
}


def _same(a, b) -> bool:
    """Equal as JSON values, keys in the same order, floats bit for bit (-0.0 apart from 0.0)."""
    pairs = (json.loads(a, object_pairs_hook=tuple), json.loads(b, object_pairs_hook=tuple))
    return repr(pairs[0]) == repr(pairs[1])


def test_json_text_is_the_value_json_dumps_writes():
    assert _same(json_text(BREAKDOWN), json.dumps(BREAKDOWN))
    assert _same(json_text({1: "a"}), json.dumps({1: "a"}))  # keys as strings, as json.dumps makes them


def test_json_text_falls_back_on_what_the_fast_path_refuses():
    big = {"n": 2**70, "s": "\ud800"}  # an integer past 64 bits, a lone surrogate
    assert json_text(big) == json.dumps(big)
    assert json.loads(json_text({"x": math.nan})) == {"x": None}  # json.dumps wrote NaN, which PostgreSQL refuses


def test_rows_written_in_bulk_read_back_as_written(app, ctx):
    table = sa.Table("bulk_probe", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("doc", sa.JSON), prefixes=["TEMPORARY"])
    connection = db.session.connection()
    table.create(connection)
    is_postgresql = connection.dialect.name == "postgresql"
    show = sa.text("SHOW default_toast_compression")
    before = connection.scalar(show) if is_postgresql else None
    large = {**BREAKDOWN, "indicators": BREAKDOWN["indicators"] * 20}  # several KB: stored compressed
    rows = [(1, BREAKDOWN), (2, large), (3, None), (4, {"empty": {}})]
    assert insert_rows(table, ("id", "doc"), iter(rows)) == 4
    if is_postgresql:
        assert connection.scalar(show) == before
    read = dict(connection.execute(sa.select(table.c.id, table.c.doc)).all())
    assert read == {1: json.loads(json.dumps(BREAKDOWN)), 2: json.loads(json.dumps(large)), 3: None,
                    4: {"empty": {}}}
    table.drop(connection)


ENTRY_KEYS = ("code", "name", "unit_of_measure", "dimension", "aggregated", "soft", "raw", "normalised", "weight",
              "contribution", "shown", "missing", "hard_missing", "method", "direction", "per_capita", "target",
              "floor", "worst", "best", "pooled", "details")


def test_a_stored_breakdown_holds_each_entry_as_written_out_before(app, ctx):
    """The breakdown text a score run puts together from whole columns: every entry with its keys in
    the order readers have always had them, and figures that agree with the result's columns."""
    from app.assessment import runs
    from app.models import Cycle, ScoreResult

    from .assessment_setup import build_world, load, officer_rows, unit_rows

    ids = build_world()
    load(ids, unit_rows() + officer_rows(ids))
    run = runs.compute_run(db.session.get(Cycle, ids["cycle"]))
    db.session.commit()
    results = db.session.execute(sa.select(ScoreResult).where(ScoreResult.run_id == run.id)).scalars().all()
    assert {r.level for r in results} == {"unit", "officer"}
    for result in results:
        breakdown = result.breakdown
        assert list(breakdown)[:6] == ["indicators", "dimensions", "total_shown", "incomplete", "hard_missing",
                                       "bonus"]
        assert breakdown["indicators"] and all(tuple(x) == ENTRY_KEYS for x in breakdown["indicators"])
        assert all(list(d) == ["code", "weight", "score", "contribution", "shown"] for d in breakdown["dimensions"])
        assert breakdown["hard_missing"] == any(x["hard_missing"] for x in breakdown["indicators"])
        assert all(isinstance(x["details"], dict) for x in breakdown["indicators"])
        if result.total is not None and not result.excluded:
            shown = sum(x["shown"] for x in breakdown["indicators"])
            assert abs(shown - breakdown["total_shown"]) < 1e-6
            assert abs(breakdown["total_shown"] - result.total) <= 0.005 + 1e-9


def test_answers_put_in_id_order_as_a_stable_sort_would():
    from app.feedback.services import _by_id

    rng = np.random.default_rng(7)
    for ids in (rng.permutation(np.arange(1000, 6000, dtype=np.int64)),  # dense: through the id table
                rng.permutation(np.arange(6000, dtype=np.int64) * 10**6)[:500]):  # sparse: sorted
        other = rng.integers(0, 100, len(ids)).astype(np.int32)
        small = rng.integers(0, 6, len(ids)).astype(np.int8)
        order = np.argsort(ids, kind="stable")
        for cuts in ([], [1, 2, 200], [0, len(ids) // 2]):  # as read: in parts, some empty
            bounds = [0, *cuts, len(ids)]
            parts = [(ids[a:b], other[a:b], small[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
            got = _by_id(parts)
            for column, expected in zip(got, (ids[order], other[order], small[order]), strict=True):
                assert column.dtype == expected.dtype and np.array_equal(column, expected)
    ids = np.arange(100, dtype=np.int64)  # in order already: joined as they come
    got = _by_id([(ids[:30], ids[:30] * 2), (ids[30:30], ids[30:30]), (ids[30:], ids[30:] * 2)])
    assert np.array_equal(got[0], ids) and np.array_equal(got[1], ids * 2)
