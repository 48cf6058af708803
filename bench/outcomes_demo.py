"""Screenshots of « Performance réelle » over a realistic history: two years of predictions of the reference
employees, the dataset's own leavers leaving within a year of their first evaluation.

Each of the 1,470 reference employees is evaluated once in a month drawn over the last 24 months (a third again
six months later if still there), scored by the model bundle given; the 237 who left in the data resign 1 to 360
days after their first evaluation; 4 % of the others leave otherwise (fin de CDD, licenciement, retraite).
A SQLite file in a temporary folder, an app served on 127.0.0.1, Chromium at 1366 and 390 px; everything stops
by itself.

    .venv/bin/python bench/outcomes_demo.py --bundle /path/to/bundle --out /work/notes/issue-23
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from futurisys import create_app  # noqa: E402
from futurisys.extensions import db, model_store  # noqa: E402
from futurisys.ml.data import training_matrix  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from tests.outcome_rows import add_departures, add_predictions  # noqa: E402
from tests.support import PASSWORD, serving, sign_in  # noqa: E402

OTHER_EXITS = ("fin_cdd", "licenciement", "retraite")


def generate(now: datetime) -> tuple[int, int]:
    """Write the history; return (predictions, departures)."""
    features, target = training_matrix()
    records = features.to_dict("records")
    predictor = model_store.predictor
    scores = predictor.predict_many(records)
    rng = random.Random(23)
    rows, exits = [], []
    for index, (score, left) in enumerate(zip(scores, target.tolist(), strict=True)):
        ref = f"EMP-{index + 1:04d}"
        first = now - timedelta(days=rng.uniform(0, 730))
        leaves = first + timedelta(days=rng.randint(1, 360)) if left else None
        if not left and rng.random() < 0.04:
            exits.append((ref, (first + timedelta(days=rng.randint(1, 360))).date(), rng.choice(OTHER_EXITS)))
        elif leaves is not None:
            exits.append((ref, leaves.date(), "demission"))
        moments = [first]
        again = first + timedelta(days=182)
        if rng.random() < 0.33 and again < now and (leaves is None or again < leaves):
            moments.append(again)
        for moment in moments:
            rows.append(
                {
                    "created_at": moment,
                    "employee_ref": ref,
                    "proba": score.proba,
                    "threshold": predictor.threshold,
                    "version": predictor.version,
                }
            )
    add_predictions(rows)
    add_departures([e for e in exits if e[1] <= now.date()])
    return len(rows), len([e for e in exits if e[1] <= now.date()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", required=True, help="a model bundle folder (flask model train --out …)")
    parser.add_argument("--out", required=True, help="folder for the screenshots")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/demo.db", "MODEL_DIR": args.bundle, "SECRET_KEY": "demo"}
        )
        with app.app_context():
            from flask_migrate import upgrade

            from futurisys.auth.accounts import create_user

            upgrade()
            create_user("claire", PASSWORD, "admin")
            started = time.perf_counter()
            predictions, departures = generate(datetime.now(UTC))
            print(f"{predictions} predictions, {departures} departures in {time.perf_counter() - started:.1f} s")
            version = model_store.predictor.version
            db.session.remove()
        from playwright.sync_api import sync_playwright

        with serving(app) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="fr-FR")
            sign_in(page, base, "claire")
            for horizon in (12, 6):
                page.goto(f"{base}/admin/performance?version={version}&horizon={horizon}")
                for name, width in (("ordinateur", 1366), ("telephone", 390)):
                    page.set_viewport_size({"width": width, "height": 900})
                    page.screenshot(path=str(out / f"performance-{horizon}-mois-{name}.png"), full_page=True)
            page.goto(f"{base}/admin/model")
            page.set_viewport_size({"width": 1366, "height": 900})
            page.locator("#titre-reel").scroll_into_view_if_needed()
            page.screenshot(path=str(out / "fiche-modele-reel.png"))
            browser.close()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
