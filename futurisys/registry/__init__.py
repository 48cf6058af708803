"""The model registry: versions stored in the database (bundle bytes), the `actif`/`challenger` aliases with their
history, labelled training datasets, training on the job engine, and the admin pages « Modèles ».

This package's `__init__` stays light: `futurisys.extensions` imports `registry.loading` while it is being built.
"""


def init_app(app) -> None:
    """Register the « Modèles » pages and the template helpers."""
    from futurisys.registry import views

    views.init_app(app)
