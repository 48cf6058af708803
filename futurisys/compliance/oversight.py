"""Human oversight: the suspend switch, the objection gate of the API, and HR's decisions on evaluations."""

from __future__ import annotations

import json
from collections.abc import Mapping

import sqlalchemy as sa
from flask import request

from futurisys.api.body import read_body
from futurisys.compliance import rights, settings
from futurisys.compliance.models import Decision
from futurisys.errors import error_response
from futurisys.extensions import db
from futurisys.storage.predictions import ScoringRefused

#: Every endpoint that scores (POST): the suspend switch closes them all at once.
SCORING_ENDPOINTS = frozenset({"web.index", "web.simulation", "web.batch", "api.predict", "api.predict_batch"})
API_ENDPOINTS = frozenset({"api.predict", "api.predict_batch"})
REFERENCE_MEMBER = "reference_salarie"
SUSPENDED = "Les évaluations sont suspendues par l'administration de Futurisys"


def gate():
    """Before a scoring request: 503 while suspended; on the API, 409 for a reference whose employee objected."""
    if request.method != "POST" or request.endpoint not in SCORING_ENDPOINTS:
        return None
    if settings.suspended():
        reason = settings.get("suspension_reason")
        return error_response(503, f"{SUSPENDED}{' : ' + reason if reason else ''}. Rien n'a été enregistré.")
    # The body is parsed again only when it names an employee (most API calls do not): /predict stays as fast.
    if request.endpoint in API_ENDPOINTS and REFERENCE_MEMBER.encode() in read_body():
        try:
            body = json.loads(read_body())
        except (ValueError, RecursionError):
            body = None  # the API's own reading answers the 4xx
        records = body if isinstance(body, list) else [body]
        references = [r.get(REFERENCE_MEMBER) for r in records if isinstance(r, Mapping)]
        refused = rights.objected(ref for ref in references if isinstance(ref, str))
        if refused:
            return error_response(409, rights.OBJECTION_MESSAGE.format(ref=refused[0]), refused=len(refused))
    return None


def objection_guard(references: list[str]) -> None:
    """predictions.GUARDS entry: the HR form, what-ifs and uploads refuse employees who objected."""
    refused = rights.objected(references)
    if refused:
        message = rights.OBJECTION_MESSAGE.format(ref=refused[0])
        if len(refused) > 1:
            message += f" ({len(refused)} salariés concernés dans ce lot : {', '.join(refused[:20])}.)"
        raise ScoringRefused(409, message)


def refused_response(exc: ScoringRefused):
    """The French answer to a refused evaluation (JSON or the error page)."""
    db.session.rollback()
    return error_response(exc.status, exc.message)


def decisions_of(input_id: int) -> list[Decision]:
    """HR's decisions on an evaluation, oldest first."""
    return list(db.session.scalars(sa.select(Decision).where(Decision.input_id == input_id).order_by(Decision.id)))
