from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, SubmitField
from wtforms.validators import NumberRange, Optional


class DecideForm(FlaskForm):
    """Accept a proposed multiplier (as proposed or edited) or reject it."""

    multiplier = DecimalField(_l("倍数"), places=1, validators=[Optional(), NumberRange(min=0.5, max=3)])
    accept = SubmitField(_l("采纳"))
    reject = SubmitField(_l("不采纳"))
