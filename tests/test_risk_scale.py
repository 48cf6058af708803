"""One risk scale: the figure shown, its band, the sentence, the filters and the exports agree, at the edge too."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from futurisys.admin.export import HEADER, shown
from futurisys.domain.formatting import (
    NNBSP,  # pages are typeset: compared here with plain spaces
    out_of_100,
    percent,
)
from futurisys.domain.risk import at_least_percent, below_percent, risk_scale, shown_percent
from futurisys.extensions import db
from futurisys.storage.models import Prediction
from tests.support import evaluate, login, make_user, restamp, scalar

probabilities = st.floats(0, 1, allow_nan=False)
# Probabilities on and around the rounding edges (x,5 %), where a figure and its band could part.
edges = st.builds(
    lambda k, d: min(1.0, max(0.0, (k + 0.5) / 100 + d)), st.integers(0, 99), st.sampled_from((-1e-9, 0, 1e-9))
)
near_edges = probabilities | edges


@settings(max_examples=300, deadline=None)
@given(near_edges, near_edges, near_edges)
def test_band_sentence_and_position_follow_the_shown_figure(probability, threshold, high_from):
    scale = risk_scale(threshold, high_from)
    figure = shown_percent(probability)
    band = scale.band(probability)
    position = scale.position(probability)
    # The band and the sentence beside it never disagree, and both read the figure the page shows.
    assert (band.key == "faible") == (position == "En dessous") == (figure < shown_percent(threshold))
    assert band.lower <= figure < band.upper
    assert band.key != "eleve" or figure >= shown_percent(high_from)
    assert (position == "Au niveau") == (figure == shown_percent(threshold))
    text = percent(probability)
    assert text == f"{figure}\u00a0%" or (figure == 0 and text == "moins de 1\u00a0%")
    assert f"environ {figure} " in out_of_100(probability) or figure == 0
    # The export's figure and band are the page's.
    row = [None] * len(HEADER)
    row[HEADER.index("prediction_proba")], row[HEADER.index("threshold")] = probability, threshold
    assert shown(row, high_from) == [str(figure), band.label]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(near_edges, st.floats(0, 100, allow_nan=False) | st.integers(0, 100))
def test_sql_percentage_filters_keep_exactly_the_shown_figures(app, probability, bound):
    """The history filters compare in SQL what every page shows: « ≥ 40 % » keeps a 39,95 % shown as 40 %."""
    stored = sa.cast(sa.literal(probability), sa.Double)  # a double precision value, as the column holds it
    with app.app_context():
        kept_min, kept_max = db.session.execute(
            sa.select(
                stored * 100 >= at_least_percent(bound),
                stored * 100 < below_percent(bound),
            )
        ).one()
    figure = shown_percent(probability)
    assert bool(kept_min) == (figure >= bound)
    assert bool(kept_max) == (figure <= bound)


def test_one_prediction_at_the_threshold_reads_the_same_everywhere(app, client):
    """The issue's case: p = 0.1762 with a threshold of 0.1769 is « modéré, 18 %, au niveau du seuil (18 %) »."""
    make_user(app, "rh", "hr")
    make_user(app, "admin", "admin")
    assert login(client, "rh").status_code == 302
    location = evaluate(client)
    prediction_id = scalar(app, sa.select(Prediction.id))
    restamp(app, prediction_id, prediction_proba=0.1762, threshold=0.1769)
    page = unescape(client.get(location).get_data(as_text=True).replace(NNBSP, " "))
    assert re.search(r'data-testid="band">modéré<', page) and 'data-testid="probability">18\u00a0%<' in page
    assert "Au niveau du seuil d'alerte (18\u00a0%)." in page and "environ 18 partiraient" in page
    listing = unescape(client.get("/evaluations").get_data(as_text=True).replace(NNBSP, " "))
    assert "18\u00a0%" in listing and "band--modere" in listing
    client = app.test_client()
    assert login(client, "admin").status_code == 302
    kept = unescape(client.get("/admin/?proba_min=18&proba_max=18").get_data(as_text=True).replace(NNBSP, " "))
    assert f"/admin/predictions/{prediction_id}" in kept
    assert f"/admin/predictions/{prediction_id}" not in client.get("/admin/?proba_max=17").get_data(
        as_text=True
    ).replace(NNBSP, " ")
    detail = unescape(client.get(f"/admin/predictions/{prediction_id}").get_data(as_text=True).replace(NNBSP, " "))
    assert "18\u00a0% (risque modéré)" in detail and "probabilité exacte : 17,62\u00a0%" in detail
    exported = client.get("/admin/export.csv?proba_min=18").get_data().decode("utf-8-sig")
    [row] = csv.DictReader(io.StringIO(exported), delimiter=";")
    assert (row["risque_pourcent"], row["niveau_de_risque"]) == ("18", "Modéré")
