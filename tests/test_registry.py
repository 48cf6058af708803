"""The model registry: labelled histories, versions stored whole, promotions with a reason (admins only, « je
confirme » when worse), rollback, the challenger scored in the shadow, the model card of a chosen version."""

from __future__ import annotations

import csv
import html
import io
import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from futurisys.domain.formatting import NNBSP
from futurisys.domain.schema import RAW_NAMES
from futurisys.extensions import db, model_store
from futurisys.ml.data import raw_records
from futurisys.registry import versions
from futurisys.registry.models import ACTIVE, CHALLENGER, AliasEvent, ModelVersion, TrainingDataset
from futurisys.storage.models import Prediction
from tests.payloads import FEATURES, employee, export_cell, left
from tests.support import logged_in, make_user

DEPARTURE = "a_quitte_l_entreprise"
IDS = [record["id_employee"] for record in raw_records()]
#: A reference employee whose role has an accent (« Représentant Commercial »), as each encoding writes it.
ACCENTED = next(i for i in IDS if "é" in employee(i)["poste"])


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True)).replace(NNBSP, " ")


def history_csv(ids, encoding="utf-8-sig", delimiter=";", changes: dict | None = None) -> bytes:
    """A labelled HR history: the 27 raw columns of reference employees `ids` and whether each left (Oui/Non)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["reference_salarie", *RAW_NAMES, DEPARTURE])
    for i in ids:
        row = {n: export_cell(n, employee(i)[n]) for n in RAW_NAMES}
        row[DEPARTURE] = "Oui" if left(i) else "Non"
        row.update((changes or {}).get(i, {}))
        writer.writerow([f"MAT-{i:04d}", *(row[n] for n in RAW_NAMES), row[DEPARTURE]])
    return out.getvalue().encode(encoding)


def upload(client, content: bytes, name="Historique 2020-2025"):
    return client.post(
        "/admin/modeles/jeux",
        data={"name": name, "fichier": (io.BytesIO(content), "historique.csv")},
        content_type="multipart/form-data",
    )


def variant_bundle(bundle_dir: Path, folder: Path, name: str, shift: float = 0.3, **metrics) -> Path:
    """A copy of the run's bundle scoring differently (intercept moved by `shift`), with its own version name and,
    optionally, other cross-validated figures in its metadata."""
    shutil.copytree(bundle_dir, folder)
    linear = json.loads((folder / "linear.json").read_text())
    linear["intercept"] += shift
    (folder / "linear.json").write_text(json.dumps(linear))
    meta = json.loads((folder / "metadata.json").read_text())
    meta["version"] = name
    meta["metrics"].update(metrics)
    (folder / "metadata.json").write_text(json.dumps(meta))
    return folder


def installed(app, bundle_dir) -> ModelVersion:
    """The run's bundle registered and active, as the first start does."""
    with app.app_context():
        said = versions.register_configured(app)
        assert "made active" in said, said
        return versions.alias_target(ACTIVE)


def register(app, folder: Path) -> int:
    with app.app_context():
        version, created = versions.register_folder(folder, source="entrainement")
        assert created
        return version.id


def promote(client, version_id: int, reason="Meilleur sur nos données", alias=ACTIVE, **extra):
    return client.post(
        f"/admin/modeles/versions/{version_id}/promouvoir", data={"alias": alias, "reason": reason, **extra}
    )


def events(app) -> list[tuple]:
    with app.app_context():
        return [
            (e.alias, e.from_version_id, e.to_version_id, e.username, e.reason, e.warnings)
            for e in db.session.scalars(sa.select(AliasEvent).order_by(AliasEvent.id))
        ]


def test_a_labelled_history_is_kept_with_its_counts_and_shown_as_a_source(app, client):
    logged_in(app, client, "admin")
    ids = IDS[:60]
    answer = upload(client, history_csv(ids, encoding="cp1252"))
    assert answer.status_code == 303, text(answer)[:3000]
    with app.app_context():
        dataset = db.session.scalar(sa.select(TrainingDataset))
        assert (dataset.name, dataset.rows, dataset.uploaded_by) == ("Historique 2020-2025", 60, "admin")
        assert dataset.leavers == sum(left(i) for i in ids)
    page = text(client.get("/admin/modeles/"))
    assert "Fichier lu en Windows-1252" not in page  # said once, in the flash of the redirect
    assert f"Historique « Historique 2020-2025 » : 60 lignes dont {dataset.leavers} départs" in page
    assert "Jeu de référence (IBM, 1 470 salariés) : 1 470 lignes dont 237 départs" in page
    assert "Issues constatées dans le service : 0 ligne dont 0 départ" in page
    again = upload(client, history_csv(ids))
    assert again.status_code == 422 and "Ce nom est déjà pris" in text(again)


@pytest.mark.parametrize(
    ("encoding", "shown"),
    [("utf-8-sig", "UTF-8"), ("cp1252", "Windows-1252 (Excel)"), ("latin-1", "Windows-1252 (Excel)")],
)
def test_each_encoding_of_a_spreadsheet_is_read_with_its_accents(app, client, encoding, shown):
    # Latin-1 and Windows-1252 write « é » with the same byte: both are read as Windows-1252, accents intact.
    logged_in(app, client, "admin")
    ids = [ACCENTED, 1, 2]
    answer = client.post(
        "/admin/modeles/jeux",
        data={"name": f"h-{encoding}", "fichier": (io.BytesIO(history_csv(ids, encoding=encoding)), "h.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert answer.status_code == 200 and f"(fichier lu en {shown})" in text(answer)
    with app.app_context():
        from futurisys.registry.datasets import stored

        rows = stored(db.session.scalar(sa.select(TrainingDataset))).records
        assert rows[0]["poste"] == employee(ACCENTED)["poste"]


def test_a_history_with_bad_lines_keeps_nothing_and_lists_each_line(app, client):
    logged_in(app, client, "admin")
    content = history_csv([1, 2, 4, 5], changes={2: {DEPARTURE: "Peut-être"}, 5: {"age": "300"}})
    answer = upload(client, content)
    page = text(answer)
    assert answer.status_code == 422
    assert "Fichier refusé : 2 lignes en erreur" in page
    assert "« Peut-être »" in page and "« Oui » ou « Non » attendu." in page and "A quitté l'entreprise" in page
    assert "« 300 »" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TrainingDataset)) == 0


def test_a_history_without_its_departure_column_is_refused_whole(app, client):
    logged_in(app, client, "admin")
    plain = history_csv([1, 2]).decode("utf-8-sig").replace(f";{DEPARTURE}", ";autre").encode()
    answer = upload(client, plain)
    assert answer.status_code == 422 and f"Colonnes manquantes : {DEPARTURE}" in text(answer)
    utf16 = upload(client, history_csv([1, 2], encoding="utf-16"))
    assert utf16.status_code == 422 and "Colonnes manquantes" in text(utf16)
    empty_name = upload(client, history_csv([1, 2]), name="")
    assert empty_name.status_code == 422 and "Donnez un nom à ce jeu de données." in text(empty_name)


def test_an_hr_account_cannot_see_or_promote(app, client, bundle_dir):
    active = installed(app, bundle_dir)
    logged_in(app, client, "hr")
    assert client.get("/admin/modeles/").status_code == 403
    assert promote(client, active.id).status_code == 403
    assert client.post("/admin/modeles/jeux").status_code == 403
    assert len(events(app)) == 1  # the first start's only


def test_a_promotion_needs_a_reason_and_keeps_who_when_why(app, client, bundle_dir, tmp_path):
    first = installed(app, bundle_dir)
    second = register(app, variant_bundle(bundle_dir, tmp_path / "v2", "fx-variante-2"))
    logged_in(app, client, "admin")
    for reason in ("", "   "):
        refused = promote(client, second, reason=reason)
        assert refused.status_code in (409, 422) and "Indiquez la raison de ce changement" in text(refused)
    assert len(events(app)) == 1
    moved = promote(client, second, expected_from=str(first.id))
    assert moved.status_code == 303, text(moved)[:3000]
    assert events(app)[-1] == (ACTIVE, first.id, second, "admin", "Meilleur sur nos données", None)
    stale = promote(client, first.id, expected_from=str(first.id))  # the page was read before the move
    assert stale.status_code == 409 and "L'alias a changé entre-temps" in text(stale)
    page = text(client.get("/admin/modeles/"))
    assert "Meilleur sur nos données" in page and "le service (premier démarrage)" in page


def test_a_worse_version_needs_je_confirme_and_the_warning_is_kept(app, client, bundle_dir, tmp_path):
    installed(app, bundle_dir)
    worse = register(app, variant_bundle(bundle_dir, tmp_path / "w", "fx-moins-bon", cv_roc_auc_mean=0.61))
    logged_in(app, client, "admin")
    asked = promote(client, worse, reason="Essai")
    assert asked.status_code == 409
    assert "ROC AUC plus faible : 0,6100 contre" in text(asked) and "Je confirme" in text(asked)
    assert len(events(app)) == 1
    confirmed = promote(client, worse, reason="Essai assumé", confirm="y")
    assert confirmed.status_code == 303
    warnings = events(app)[-1][5]
    assert warnings and warnings[0].startswith("ROC AUC plus faible : 0,6100")
    assert "Confirmé malgré" in text(client.get("/admin/modeles/"))


def test_rollback_is_a_promotion_of_the_earlier_version_and_the_app_serves_it(app, client, bundle_dir, tmp_path):
    first = installed(app, bundle_dir)
    second = register(app, variant_bundle(bundle_dir, tmp_path / "v2", "fx-variante-2"))
    logged_in(app, client, "admin")

    def served() -> str:
        return client.post("/predict?details=true", json=FEATURES).get_json()["model_version"]

    assert served() == first.version
    assert promote(client, second).status_code == 303
    assert served() == "fx-variante-2"  # this process re-reads the aliases right after its own promotion
    assert promote(client, first.id, reason="Retour arrière : écarts constatés").status_code == 303
    assert served() == first.version
    assert [(e[1], e[2]) for e in events(app)] == [(None, first.id), (first.id, second), (second, first.id)]
    with app.app_context():
        stored = db.session.execute(sa.select(Prediction.model_version).order_by(Prediction.id)).scalars().all()
    assert stored == [first.version, "fx-variante-2", first.version]  # each kept with the version that made it


def test_the_challenger_is_scored_in_the_shadow_stored_and_never_returned(app, client, hr_client, bundle_dir, tmp_path):
    installed(app, bundle_dir)
    challenger = register(app, variant_bundle(bundle_dir, tmp_path / "c", "fx-challenger", shift=0.5))
    admin = logged_in(app, app.test_client(), "admin")
    assert promote(admin, challenger, alias=CHALLENGER, reason="À l'essai dans l'ombre").status_code == 303
    answer = client.post("/predict", json=FEATURES)
    assert set(answer.get_json()) == {"Prediction", "Probabilite_depart"}
    detailed = client.post("/predict?details=true", json=FEATURES).get_json()
    assert "challenger" not in json.dumps(detailed)
    batch = client.post("/predict/batch", json=[FEATURES, FEATURES])
    assert batch.status_code == 200 and "challenger" not in batch.get_data(as_text=True)
    with app.app_context():
        rows = db.session.execute(
            sa.select(Prediction.prediction_proba, Prediction.challenger_proba, Prediction.challenger_version)
        ).all()
    assert len(rows) == 4
    for proba, shadow, version in rows:
        assert version == "fx-challenger" and shadow is not None and shadow > proba  # its intercept is 0.5 higher
    agreement = text(admin.get("/admin/modeles/challenger/accord"))
    assert "Sur les 4 dernières prédictions calculées aussi par le challenger" in agreement
    assert "fx-challenger" not in text(hr_client.get("/"))
    cleared = admin.post("/admin/modeles/challenger/retirer", data={"reason": "Essai terminé"})
    assert cleared.status_code == 303
    client.post("/predict", json=FEATURES)
    with app.app_context():
        last = db.session.scalars(sa.select(Prediction).order_by(Prediction.id.desc())).first()
        assert last.challenger_proba is None and last.challenger_version is None
    assert events(app)[-1][:3] == (CHALLENGER, challenger, None)


def test_the_model_card_reads_the_chosen_version(app, client, bundle_dir, tmp_path):
    installed(app, bundle_dir)
    other = register(app, variant_bundle(bundle_dir, tmp_path / "o", "fx-autre-version"))
    logged_in(app, client, "admin")
    card = text(client.get(f"/admin/model?version={other}"))
    assert "fx-autre-version" in card and "registre des modèles du service" in card
    assert client.get("/admin/model?version=999999").status_code == 404
    version_page = text(client.get(f"/admin/modeles/versions/{other}"))
    assert "fx-autre-version" in version_page and "Empreinte SHA-256" in version_page


def test_a_stored_version_is_immutable_and_unpacked_to_the_same_bytes(app, bundle_dir, tmp_path):
    import hashlib

    first = installed(app, bundle_dir)
    with app.app_context():
        again, created = versions.register_folder(bundle_dir, source="installation")
        assert (again.id, created) == (first.id, False)  # registered once, whatever the number of starts
        row = db.session.get(ModelVersion, first.id)
        assert hashlib.sha256(row.bundle).hexdigest() == row.sha256
        folder = versions.unpack(bytes(row.bundle), row.sha256, tmp_path / "cache")
        for name in ("metadata.json", "linear.json", "xgboost.ubj"):
            assert (folder / name).read_bytes() == (bundle_dir / name).read_bytes()
        with pytest.raises(Exception, match="do not match their digest"):
            versions.unpack(bytes(row.bundle) + b"x", row.sha256, tmp_path / "other")
    assert model_store.state(app).predictor.version == first.version


def test_promotions_are_for_admins_even_without_a_session(app, client, bundle_dir):
    active = installed(app, bundle_dir)
    make_user(app, "dpo", "dpo")
    anonymous = promote(client, active.id)
    assert anonymous.status_code in (302, 401)
