from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from .importer import MAX_LENGTH, clean_text, formula_problem


def _clean(value):
    """Same cleaning as the import: trimmed, no control characters."""
    return clean_text(value)[0] if isinstance(value, str) else value


def _no_formula(form, field):
    problem = formula_problem(field.data or "")
    if problem:
        raise ValidationError(problem[0].upper() + problem[1:] + ".")


class LocationForm(FlaskForm):
    code = StringField(_l("Code"), filters=[_clean],
                       description=_l("Your own short id, e.g. 001 or LON-2. Leading zeros are kept."),
                       validators=[DataRequired(_l("Give the location a code.")),
                                   Length(max=MAX_LENGTH["code"], message=_l("At most %(max)d characters.")),
                                   _no_formula])
    name = StringField(_l("Name"), filters=[_clean],
                       validators=[DataRequired(_l("Give the location a name.")),
                                   Length(max=MAX_LENGTH["name"], message=_l("At most %(max)d characters.")),
                                   _no_formula])
    region = StringField(_l("Region"), filters=[_clean], description=_l("Optional; used to filter lists and results."),
                         validators=[Length(max=MAX_LENGTH["region"], message=_l("At most %(max)d characters.")),
                                     _no_formula])


class ImportForm(FlaskForm):
    file = FileField(_l("File (.csv or .xlsx)"), validators=[
        FileRequired(_l("Choose a .csv or .xlsx file.")),
        FileAllowed(["csv", "xlsx"], _l("The file must be a .csv or an .xlsx file.")),
    ])
