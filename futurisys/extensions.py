"""Extensions, created unbound here and bound to an app in `create_app` with `init_app`."""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from futurisys.registry.loading import ModelStore

db = SQLAlchemy()
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
model_store = ModelStore()
