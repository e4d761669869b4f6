"""Real-world-shaped XLSForms, built with openpyxl the way KoboToolbox and ODK write them, for the import tests.

- `retail_mystery_shop()`: a KoboToolbox download: `label::English (en)` / `hint::English (en)` columns, `$kuid`
  and `$autoname` columns, start/end metadata rows, groups, a scored choices sheet, settings with a default language.
- `clinic_patient_experience()`: an ODK-style form with plain `label` and `hint`, questions before any group,
  `begin group` written with a space, a 1-5 range, a 0/1 yes-no list, a date and a select_multiple.
- `restaurant_checklist()`: skip logic (relevant), a repeat, a calculate, a nested group and a geopoint.
"""
from __future__ import annotations

import io

from openpyxl import Workbook


def build(survey: list[list], choices: list[list] | None = None, settings: list[list] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "survey"
    for row in survey:
        sheet.append(row)
    if choices is not None:
        sheet = book.create_sheet("choices")
        for row in choices:
            sheet.append(row)
    if settings is not None:
        sheet = book.create_sheet("settings")
        for row in settings:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


KOBO_SURVEY_HEADER = ["type", "name", "label::English (en)", "hint::English (en)", "required", "relevant",
                      "constraint", "constraint_message::English (en)", "appearance", "$kuid", "$autoname"]


def _kobo(type_, name, label=None, hint=None, required=None, relevant=None, constraint=None, message=None,
          appearance=None):
    return [type_, name, label, hint, required, relevant, constraint, message, appearance, f"k{abs(hash(name)) % 999}",
            name]


def retail_mystery_shop() -> bytes:
    survey = [
        KOBO_SURVEY_HEADER,
        _kobo("start", "start"),                                                                           # row 2
        _kobo("end", "end"),                                                                               # row 3
        _kobo("begin_group", "store_entrance", "Store entrance", "From the door to the first greeting",
              appearance="field-list"),                                                                    # row 4
        _kobo("select_one yes_no", "greeted", "Were you greeted within 30 seconds?", required="true"),    # row 5
        _kobo("integer", "seconds_to_greet", "How many seconds until a staff member greeted you?",
              constraint=". <= 30", message="Greet within 30 seconds"),                                    # row 6
        _kobo("note", "shelf_note", "Look at the shelves nearest the door before you answer."),            # row 7
        _kobo("select_one cleanliness", "entrance_clean", "How clean was the entrance?", required="true"),  # row 8
        _kobo("end_group", None),                                                                          # row 9
        _kobo("begin_group", "checkout", "Checkout"),                                                      # row 10
        _kobo("select_one queue", "queue_length", "How many people were in front of you?"),                # row 11
        _kobo("decimal", "wait_minutes", "Minutes waited at the till", constraint=".<=5"),                 # row 12
        _kobo("image", "receipt_photo", "Photo of the receipt", hint="Cover the card number"),             # row 13
        _kobo("acknowledge", "privacy_ok", "The cashier did not read out my card number"),                  # row 14
        _kobo("text", "comments", "Anything else?"),                                                       # row 15
        _kobo("end_group", None),                                                                          # row 16
    ]
    choices = [
        ["list_name", "name", "label::English (en)", "score", "$kuid"],
        ["yes_no", "yes", "Yes", None, "a1"],
        ["yes_no", "no", "No", None, "a2"],
        ["cleanliness", "spotless", "Spotless", 1, "b1"],
        ["cleanliness", "acceptable", "Acceptable", 0.5, "b2"],
        ["cleanliness", "dirty", "Dirty", 0, "b3"],
        ["queue", "none", "Nobody", 1, "c1"],
        ["queue", "few", "1 to 3", 0.75, "c2"],
        ["queue", "many", "More than 3", 0, "c3"],
    ]
    settings = [["form_title", "form_id", "version", "default_language", "style"],
                ["Retail mystery shop", "aX9retail", "2", "English (en)", "pages"]]
    return build(survey, choices, settings)


CLINIC_HEADER = ["type", "name", "label", "hint", "required", "constraint", "parameters", "appearance"]


def clinic_patient_experience() -> bytes:
    survey = [
        CLINIC_HEADER,
        ["today", "today", None, None, None, None, None, None],                                             # row 2
        ["select_one yn", "booked_online", "Did you book your appointment online?", None, "yes", None, None,
         None],                                                                                             # row 3
        ["text", "reason", "What was the visit for?", "Optional", None, None, None, None],                  # row 4
        ["begin group", "waiting_room", "Waiting room", None, None, None, None, "field-list"],               # row 5
        ["integer", "wait_minutes", "How many minutes did you wait?", None, "yes", ". >= 0 and . <= 240", None,
         None],                                                                                             # row 6
        ["range", "comfort", "How comfortable was the waiting room?", "1 = very poor, 5 = excellent", None, None,
         "start=1 end=5 step=1", "rating"],                                                                 # row 7
        ["select_one likert", "staff_courtesy", "The staff were courteous", None, "yes", None, None, "likert"],  # row 8
        ["date", "visit_date", "Date of the visit", None, None, None, None, None],                         # row 9
        ["select_multiple services", "services", "Which services did you use?", None, None, None, None, None],  # 10
        ["note", "closing", "Thank you", None, None, None, None, None],                                     # row 11
        ["end group", None, None, None, None, None, None, None],                                            # row 12
        ["select_one yn", "recommend", "Would you recommend the clinic?", None, "yes", None, None, None],   # row 13
    ]
    choices = [
        ["list_name", "name", "label", "score"],
        ["yn", "1", "Yes", None],
        ["yn", "0", "No", None],
        ["likert", "strongly_agree", "Strongly agree", 1],
        ["likert", "agree", "Agree", 0.75],
        ["likert", "neutral", "Neither agree nor disagree", 0.5],
        ["likert", "disagree", "Disagree", 0.25],
        ["likert", "strongly_disagree", "Strongly disagree", 0],
        ["services", "xray", "X-ray", None],
        ["services", "lab", "Lab tests", None],
    ]
    settings = [["form_title", "form_id"], ["Clinic patient experience", "clinic_px"]]
    return build(survey, choices, settings)


RESTAURANT_HEADER = ["type", "name", "label", "required", "relevant", "calculation", "constraint", "repeat_count"]


def restaurant_checklist() -> bytes:
    survey = [
        RESTAURANT_HEADER,
        ["begin_group", "arrival", "Arrival", None, None, None, None, None],                               # row 2
        ["select_one yes_no", "greeted", "Were you greeted at the door?", "yes", None, None, None, None],  # row 3
        ["select_one yes_no", "seated_fast", "Were you seated within 5 minutes?", None, "${greeted} = 'yes'",
         None, None, None],                                                                                 # row 4
        ["geopoint", "location", "Where is the restaurant?", None, None, None, None, None],                # row 5
        ["end_group", None, None, None, None, None, None, None],                                           # row 6
        ["begin_group", "food", "Food", None, None, None, None, None],                                     # row 7
        ["begin_repeat", "dishes", "Dishes", None, None, None, None, "3"],                                # row 8
        ["text", "dish_name", "Dish", None, None, None, None, None],                                       # row 9
        ["select_one temp", "dish_temperature", "Served at the right temperature?", None, None, None, None,
         None],                                                                                             # row 10
        ["end_repeat", None, None, None, None, None, None, None],                                          # row 11
        ["begin_group", "kitchen", "Open kitchen", None, None, None, None, None],                          # row 12
        ["select_one temp", "hot_food_hot", "Was the hot food hot?", "yes", None, None, None, None],       # row 13
        ["end_group", None, None, None, None, None, None, None],                                           # row 14
        ["calculate", "food_score", None, None, None, "if(${hot_food_hot} = 'right', 1, 0)", None, None],   # row 15
        ["integer", "minutes_to_food", "Minutes until the food came", None, None, None, ". <= 20", None],  # row 16
        ["end_group", None, None, None, None, None, None, None],                                           # row 17
    ]
    choices = [
        ["list_name", "name", "label", "score"],
        ["yes_no", "yes", "Yes", 1],
        ["yes_no", "no", "No", 0],
        ["temp", "right", "Just right", 1],
        ["temp", "lukewarm", "Lukewarm", 0.5],
        ["temp", "cold", "Cold", 0],
    ]
    settings = [["form_title", "form_id", "version"], ["Restaurant checklist", "restaurant", "2024-05"]]
    return build(survey, choices, settings)
