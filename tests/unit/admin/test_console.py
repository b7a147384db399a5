"""The console without servers: its templates compile, forms keep what was typed and place the
problems, a login only sends the visitor back within the site, and the admin API's OpenAPI
document lists its routes with 400 (never 422) for invalid requests."""

import pytest
from starlette.datastructures import FormData

from gateway.admin.api.app import create_api
from gateway.admin.console import web
from gateway.admin.console.forms import Form, expected_version
from gateway.admin.service.errors import Invalid


def test_every_template_compiles() -> None:
    environment = web.templates.env
    names = environment.list_templates(extensions=["html"])
    assert {"layout.html", "login.html", "programme/settings.html"} <= set(names)
    for name in names:
        environment.get_template(name)


def test_the_csrf_macro_renders_the_pages_token() -> None:
    """An imported macro sees the page's variables only when imported `with context`: without
    it every form's token field was empty, and forms posted only through htmx's header."""
    environment = web.templates.env
    template = environment.from_string(
        '{% from "macros.html" import csrf with context %}{{ csrf() }}'
    )
    assert 'value="the-token"' in template.render(csrf_token="the-token")
    for name in environment.list_templates(extensions=["html"]):
        source = (web.HERE / "templates" / name).read_text()
        imports = [line for line in source.splitlines() if 'from "macros.html" import' in line]
        for line in imports:
            if "csrf" in line:
                assert line.rstrip().endswith("with context %}"), f"{name}: {line}"


def test_the_vendored_htmx_is_served() -> None:
    assert (web.STATIC / web.HTMX).stat().st_size > 10_000


def test_a_submitted_form_keeps_its_values_and_places_its_problems() -> None:
    submitted = FormData(
        [("tiers.0.name", "Gold"), ("tiers.0.multiplier", "x"), ("tiers.1.name", ""),
         ("allowed", "a"), ("allowed", "b"), ("expected_version", "7")]
    )  # fmt: skip
    form = Form.submitted(submitted, groups=["allowed"])
    assert form.data() == {"tiers": [{"name": "Gold", "multiplier": "x"}], "allowed": ["a", "b"]}
    assert expected_version(submitted) == 7
    refused = form.refused(
        Invalid({"tiers.0.multiplier": ["bad"], "rules": ["odd"]}), ["tiers.0.multiplier"]
    )
    assert refused.errors == {"tiers.0.multiplier": ["bad"]}
    assert refused.general == ["rules: odd"]
    assert refused.value("tiers.0.multiplier") == "x"
    assert refused.checked("allowed", "b")
    assert refused.rows("tiers", spare=2) == [0, 1, 2]


@pytest.mark.parametrize(
    ("given", "expected"),
    [("/programmes/demo", "/programmes/demo"), ("//evil.example", "/"),
     ("https://evil.example", "/"), (None, "/")],
)  # fmt: skip
def test_after_logging_in_only_a_path_of_the_site(given: str | None, expected: str) -> None:
    assert web.local_path(given) == expected


def test_the_admin_api_documents_its_routes() -> None:
    document = create_api().openapi()
    assert {
        "/me", "/programmes", "/programmes/{programme_id}", "/programmes/{programme_id}/settings",
        "/programmes/{programme_id}/partners/{partner_id}", "/programmes/{programme_id}/api-keys",
        "/programmes/{programme_id}/api-keys/{key_id}", "/programmes/{programme_id}/export",
        "/programmes/{programme_id}/import", "/programmes/{programme_id}/provenance", "/audit",
    } <= set(document["paths"])  # fmt: skip
    responses = [
        code for path in document["paths"].values() for op in path.values()
        for code in op["responses"]
    ]  # fmt: skip
    assert "422" not in responses
