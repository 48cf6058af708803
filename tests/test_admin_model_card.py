"""The model card in plain French: both variants, fairness, calibration, each factor's curve, no server path."""

import json
import re
from datetime import datetime

import pytest

from futurisys.domain.formatting import (
    NNBSP,  # pages are typeset: compared here with plain spaces
    date_time,
    percent,
)
from tests.support import logged_in, make_app

# Words of the metadata's former English texts and of pygal/English UI that must not reach the page.
ENGLISH = (
    "maximises",
    "blend",
    "repeated",
    "seed",
    "pooled",
    "out-of-fold",
    "weighted",
    "threshold",
    "Model",
    "features",
    "No data",
    "log-odds",
)


@pytest.fixture
def page(app, client):
    return logged_in(app, client).get("/admin/model").get_data(as_text=True).replace(NNBSP, " ")


def visible_text(html: str) -> str:
    """The page's text without tags, styles and the library versions table (package names are not prose)."""
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<section class="card" aria-labelledby="titre-libs">.*?</section>', " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_the_card_reads_in_french_with_french_numbers_and_paris_time(page, bundle_dir):
    meta = json.loads((bundle_dir / "metadata.json").read_text())
    text = visible_text(page)
    for word in ENGLISH:
        assert not re.search(rf"\b{re.escape(word)}\b", text), word
    assert date_time(datetime.fromisoformat(meta["created_at"])) in text
    assert "(heure de Paris)" in text
    roc = meta["variants"]["without_protected"]["cv_roc_auc_mean"]
    assert f"{roc:.3f}".replace(".", ",") in text
    # One plain sentence per metric.
    for sentence in (
        "employé parti ait un score plus élevé",
        "précision-rappel",
        "Écart quadratique moyen",
        "part de départs réellement observée",
        "quatre cinquièmes",
    ):
        assert sentence in text, sentence
    for fact in ("Usage prévu", "Décision humaine", "pas des salariés français", "Ce qui est enregistré", "L1132-1"):
        assert fact in text, fact


def test_the_card_shows_no_server_path(page, bundle_dir):
    assert str(bundle_dir) not in page and "/tmp" not in page
    assert "dossier local du serveur" in page


def test_an_unloaded_model_shows_no_path_either(tmp_path):
    app = make_app("sqlite://", tmp_path / "nothing-here")
    client = app.test_client()
    from futurisys.extensions import db

    with app.app_context():
        db.create_all()
    response = logged_in(app, client).get("/admin/model")
    assert response.status_code == 503
    body = response.get_data(as_text=True).replace(NNBSP, " ")
    assert "Aucun modèle n'est chargé" in body and str(tmp_path) not in body


def test_both_variants_and_the_protected_criteria(page):
    text = visible_text(page)
    assert "Sans genre, statut marital ni âge (modèle par défaut)" in text
    assert "Avec ces trois critères (comparaison)" in text
    assert "le modèle ne les utilise pas" in text


def test_fairness_tables_flag_groups_below_four_fifths(page, bundle_dir):
    meta = json.loads((bundle_dir / "metadata.json").read_text())
    text = visible_text(page)
    for caption in ("Genre", "Statut marital", "Tranche d'âge"):
        assert f"<caption>{caption}</caption>" in page.replace("&#39;", "'")
    for group in (
        "Femme",
        "Homme",
        "Célibataire",
        "Marié(e)",
        "Divorcé(e)",
        "moins de 30 ans",
        "30 à 44 ans",
        "45 ans et plus",
    ):
        assert group in text, group
    below = sum(row["below_four_fifths"] for rows in meta["fairness"].values() for row in rows)
    assert below >= 1 and page.count('class="equite-alerte"') == below


def test_every_chart_has_a_text_alternative_and_large_enough_text(page):
    figures = re.findall(r"<figure class=\"chart\">(.*?)</figure>", page, flags=re.S)
    # One per factor the model uses (27), the reliability diagram and the importance chart.
    assert len(figures) == 27 + 2
    for figure in figures:
        assert "<svg" in figure and "<details>" in figure and "<table" in figure
    own = re.findall(r'<svg [^>]*role="img" aria-label="([^"]+)"[^>]*font-size="(\d+)"', page)
    assert len(own) == 28 and all(label.strip() for label, _ in own)
    sizes = [int(size) for _, size in own] + [int(s) for s in re.findall(r"font-size:\s*(\d+)px", page)]
    assert sizes and min(sizes) >= 12
    titles = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    assert not {"Genre", "Statut marital", "Âge"} & set(titles)
    assert titles[0] == "Diagramme de fiabilité (probabilités hors échantillon)"


def test_curves_come_most_important_first(app, page):
    from futurisys.admin.insights import IMPORTANCE_KEY
    from futurisys.domain.schema import feature

    importance = next(iter(app.extensions[IMPORTANCE_KEY].values()))
    expected = [feature(name).label for name, _ in importance if name not in ("genre", "statut_marital", "age")]
    titles = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    assert [t.replace("&#39;", "'") for t in titles[1:28]] == expected


def test_flag_rates_of_both_variants_side_by_side(page, bundle_dir):
    meta = json.loads((bundle_dir / "metadata.json").read_text())
    rate = meta["variants"]["with_protected"]["flag_rates"]["statut_marital"]["Célibataire"]
    row = re.search(
        r"Statut marital : Célibataire</th>\s*<td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td>", page.replace("&#39;", "'")
    )
    assert row and row.group(2) == percent(rate, 1) and "," in row.group(2)
