"""Forms of the login pages."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    """Username and password (CSRF-protected)."""

    username = StringField(
        "Identifiant",
        validators=[DataRequired("Indiquez votre identifiant."), Length(max=64)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        "Mot de passe",
        validators=[DataRequired("Indiquez votre mot de passe.")],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Se connecter")


class LogoutForm(FlaskForm):
    """Just a CSRF token: logging out is a POST."""

    submit = SubmitField("Se déconnecter")
