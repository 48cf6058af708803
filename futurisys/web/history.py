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

from futurisys.admin.forms import SOURCE_LABELS, FrenchMeta
from futurisys.admin.queries import EXACT_COUNT_LIMIT, local_midnight
from futurisys.extensions import db
from futurisys.storage.keyset import bounded_count, keyset_page
from futurisys.storage.models import EMPLOYEE_REF_LENGTH, Input, User
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


def _conditions(form: EvaluationFilterForm) -> list:
    """The visible evaluations (own, or every HR evaluation for admins) matching the filters.

    Dates are the input's (written with its prediction, at the same instant): the author's index
    (user_id, created_at, id) and, for admins, the partial index of HR evaluations then give each page in order.
    """
    where = [Input.public_id.is_not(None)]
    if current_user.role != "admin":
        where.append(Input.user_id == current_user.id)
    if form.reference.data:
        where.append(Input.employee_ref == form.reference.data)
    if form.date_from.data:
        where.append(Input.created_at >= local_midnight(form.date_from.data))
    if form.date_to.data:
        where.append(Input.created_at < local_midnight(form.date_to.data + ONE_DAY))
    return where


@bp.get("/evaluations")
def evaluations():
    """The evaluations list: date, reference, probability, band, origin, link to each page."""
    form = EvaluationFilterForm(request.args)
    if not form.validate():
        return render_template("web/evaluations.html", form=form, pagination=None, args={}), 422
    args = {name: request.args[name] for name in form._fields if request.args.get(name)}
    where = _conditions(form)
    pagination = keyset_page(
        db.session,
        sa.select(Input).join(Input.prediction).options(contains_eager(Input.prediction)).where(*where),
        (Input.__table__.c.created_at, Input.__table__.c.id),
        descending=True,
        key_of=lambda item: (item.created_at, item.id),
        per_page=PER_PAGE,
        after=request.args.get("apres"),
        before=request.args.get("avant"),
    )
    total, exact = bounded_count(db.session, sa.select(Input.id).where(*where), EXACT_COUNT_LIMIT)
    authors = {}
    if current_user.role == "admin":
        ids = {item.user_id for item in pagination.items}
        authors = dict(db.session.execute(sa.select(User.id, User.username).where(User.id.in_(ids))).all())
    return render_template(
        "web/evaluations.html",
        form=form,
        pagination=pagination,
        total=total,
        exact=exact,
        args=args,
        authors=authors,
        sources=SOURCE_LABELS,
    )
