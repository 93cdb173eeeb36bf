"""A page of an already-ordered list of ids, shaped like Flask-SQLAlchemy's Pagination so that the
``pager`` macro renders it (for lists ranked in numpy rather than ordered by SQL)."""
from __future__ import annotations

import math


class ListPage:
    def __init__(self, ids: list, page: int, per_page: int):
        self.total, self.per_page = len(ids), max(1, int(per_page))
        self.pages = max(1, math.ceil(self.total / self.per_page))
        self.page = min(max(1, int(page)), self.pages)
        start = (self.page - 1) * self.per_page
        self.ids = ids[start:start + self.per_page]
        self.items: list = []  # the page's rows, when the caller loads them

    def iter_pages(self, left_edge=2, left_current=2, right_current=4, right_edge=2):
        """Page numbers with None for a gap (as Flask-SQLAlchemy's Pagination.iter_pages)."""
        last = 0
        for number in range(1, self.pages + 1):
            if (number <= left_edge or self.page - left_current <= number < self.page + right_current
                    or number > self.pages - right_edge):
                if last + 1 != number:
                    yield None
                yield number
                last = number


class RowsPage(ListPage):
    """One page of a SELECT whose rows are not single entities (``db.paginate`` keeps only the first
    column): ``items`` are the page's rows; one COUNT and one LIMIT/OFFSET query."""

    def __init__(self, query, page: int, per_page: int):
        from .extensions import db

        total = db.session.scalar(db.select(db.func.count()).select_from(query.order_by(None).subquery())) or 0
        self.total, self.per_page = int(total), max(1, int(per_page))
        self.pages = max(1, math.ceil(self.total / self.per_page))
        self.page = min(max(1, int(page)), self.pages)
        self.items = list(db.session.execute(
            query.limit(self.per_page).offset((self.page - 1) * self.per_page)).unique().all())
