"""What a person typed into a form, to show it again when the form comes back with an error.

A form re-shown after an error must keep every field: the output-request form once lost the
chosen project, and the resubmission went to another project. Pages pass ``submitted`` (from
``submitted_values``) to their templates, which fill each field from it; passwords, one-time
codes, CSRF tokens and files are never echoed (a browser cannot re-fill a file input anyway).
``tests/functional/test_form_reshow.py`` posts an invalid form to every page with server-side
validation and checks each submitted value comes back.
"""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile

NEVER_ECHOED = frozenset({"csrf_token", "password", "code", "totp", "new_password"})


def submitted_values(form: FormData) -> dict[str, str | list[str]]:
    """Each field's text (a list where the field was sent more than once, e.g. checkboxes)."""
    values: dict[str, str | list[str]] = {}
    for name in form:
        if name in NEVER_ECHOED:
            continue
        texts = [v for v in form.getlist(name) if not isinstance(v, UploadFile)]
        if texts:
            values[name] = texts if len(texts) > 1 else texts[0]
    return values
