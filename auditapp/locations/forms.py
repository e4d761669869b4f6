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
    code = StringField("Code", filters=[_clean], description="Your own short id, e.g. 001 or LON-2. Leading zeros are kept.",
                       validators=[DataRequired("Give the location a code."),
                                   Length(max=MAX_LENGTH["code"], message=f"At most {MAX_LENGTH['code']} characters."),
                                   _no_formula])
    name = StringField("Name", filters=[_clean],
                       validators=[DataRequired("Give the location a name."),
                                   Length(max=MAX_LENGTH["name"], message=f"At most {MAX_LENGTH['name']} characters."),
                                   _no_formula])
    region = StringField("Region", filters=[_clean], description="Optional; used to filter lists and results.",
                         validators=[Length(max=MAX_LENGTH["region"], message=f"At most {MAX_LENGTH['region']} characters."),
                                     _no_formula])


class ImportForm(FlaskForm):
    file = FileField("File (.csv or .xlsx)", validators=[
        FileRequired("Choose a .csv or .xlsx file."),
        FileAllowed(["csv", "xlsx"], "The file must be a .csv or an .xlsx file."),
    ])
