"""POST /outcomes: HR information systems send the departures they know, as a JSON array (all or nothing)."""

from __future__ import annotations

from itertools import islice

from flask import Blueprint, current_app, g, jsonify

from futurisys.api.body import read_json
from futurisys.api.keys import authenticate_request
from futurisys.errors import error_response
from futurisys.outcomes.openapi import FIELDS
from futurisys.outcomes.record import Actor, record_departures, validate

bp = Blueprint("outcomes_api", __name__)
bp.before_request(authenticate_request)  # the same X-API-Key rules as /predict
ENDPOINT = "outcomes_api.record_outcomes"
MAX_LISTED_INVALID = 100


@bp.post("/outcomes", strict_slashes=False)
def record_outcomes():
    """Record departures: [{"reference_salarie", "date_depart", "motif"}]; those already known are left alone."""
    payload = read_json()
    if not isinstance(payload, list) or not payload:
        message = "Un tableau JSON non vide de départs est attendu."
        return error_response(422, message, {"_body": [message]})
    limit = current_app.config["BATCH_MAX_RECORDS"]
    if len(payload) > limit:
        return error_response(413, f"Trop de départs : {len(payload)} reçus, {limit} au plus par requête.")
    items, errors = [], {}
    for index, entry in enumerate(payload):
        if not isinstance(entry, dict):
            errors[str(index)] = {"_record": ["Un objet JSON est attendu."]}
            continue
        unknown = sorted(set(entry) - set(FIELDS))
        item, entry_errors = validate(*(entry.get(name) for name in FIELDS))
        if unknown:
            entry_errors = {**entry_errors, **{name: ["Champ inconnu."] for name in unknown[:10]}}
        if entry_errors:
            errors[str(index)] = entry_errors
        else:
            items.append(item)
    if errors:
        message = f"{len(errors)} départ(s) invalide(s) sur {len(payload)} : aucun n'a été enregistré."
        return error_response(
            422, message, dict(islice(errors.items(), MAX_LISTED_INVALID)), invalid_records=len(errors)
        )
    recorded = record_departures(items, "api", Actor(api_key_name=g.get("api_key_name")))
    return jsonify({"enregistres": recorded.created, "deja_connus": recorded.known})
