"""« Mes évaluations »: the signed-in account's evaluations (everyone's for admins), filtered and paginated."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import contains_eager
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional, ValidationError

from futurisys.admin.forms import SOURCE_LABELS, FrenchMeta, page_number
from futurisys.admin.queries import local_midnight
from futurisys.extensions import db
from futurisys.models import EMPLOYEE_REF_LENGTH, Input, Prediction, User
from futurisys.web import bp

PER_PAGE = 50
ONE_DAY = timedelta(days=1)
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)  # dates outside cannot hold an evaluation


class EvaluationFilterForm(FlaskForm):
    """Filters of « Mes évaluations » (query string, no CSRF: it changes nothing)."""

    class Meta(FrenchMeta):
        csrf = False

    reference = StringField(
        "Référence salarié",
        [Optional(), Length(max=EMPLOYEE_REF_LENGTH)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    date_from = DateField("Du", [Optional()])
    date_to = DateField("Au (inclus)", [Optional()])

    def validate_date_from(self, field):
        _plausible(field.data)

    def validate_date_to(self, field):
        _plausible(field.data)
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("La date de fin précède la date de début.")


def _plausible(day: date | None) -> None:
    if day and not EARLIEST <= day <= LATEST:
        raise ValidationError(f"Choisissez une date entre {EARLIEST.year} et {LATEST.year}.")


def evaluations_select(form: EvaluationFilterForm):
    """The visible evaluations (own, or every HR evaluation for admins) matching the filters, newest first."""
    query = (
        sa.select(Input)
        .join(Input.prediction)
        .options(contains_eager(Input.prediction))
        .where(Input.public_id.is_not(None))
    )
    query = query.where(Input.user_id == current_user.id) if current_user.role != "admin" else query
    if form.reference.data:
        query = query.where(Input.employee_ref == form.reference.data)
    if form.date_from.data:
        query = query.where(Prediction.created_at >= local_midnight(form.date_from.data))
    if form.date_to.data:
        query = query.where(Prediction.created_at < local_midnight(form.date_to.data + ONE_DAY))
    return query.order_by(Prediction.created_at.desc(), Input.id.desc())


@bp.get("/evaluations")
def evaluations():
    """The evaluations list: date, reference, probability, band, origin, link to each page."""
    form = EvaluationFilterForm(request.args)
    if not form.validate():
        return render_template("web/evaluations.html", form=form, pagination=None, args={}), 422
    args = {name: request.args[name] for name in form._fields if request.args.get(name)}
    pagination = db.paginate(
        evaluations_select(form), page=page_number(request.args.get("page")), per_page=PER_PAGE, error_out=False
    )
    authors = {}
    if current_user.role == "admin":
        ids = {item.user_id for item in pagination.items}
        authors = dict(db.session.execute(sa.select(User.id, User.username).where(User.id.in_(ids))).all())
    return render_template(
        "web/evaluations.html", form=form, pagination=pagination, args=args, authors=authors, sources=SOURCE_LABELS
    )
