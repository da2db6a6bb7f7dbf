"""Filling a canned reply's variables (app/domain/variables.py): pure, no database."""

from __future__ import annotations

from app.domain.variables import VARIABLES, fill, fill_html, split_name

VALUES = {
    "contact.name": "Ana López",
    "contact.first_name": "Ana",
    "agent.name": "Sam",
    "conversation.id": "c-1",
    "contact.email": "",
}


def test_known_variables_are_filled_with_or_without_spaces_inside_the_braces():
    text = "Hi {{contact.first_name}}, {{ agent.name }} here ({{conversation.id}})."
    assert fill(text, VALUES) == "Hi Ana, Sam here (c-1)."


def test_unknown_variables_and_stray_braces_stay_as_typed():
    text = "{{contact.nmae}} {{ order.total }} {{contact.name {{}} }}{{agent.name}}"
    assert fill(text, VALUES) == "{{contact.nmae}} {{ order.total }} {{contact.name {{}} }}Sam"


def test_a_known_variable_the_room_has_no_value_for_becomes_empty():
    assert fill("<{{contact.email}}><{{contact.phone}}>", VALUES) == "<><>"


def test_plain_filling_does_not_escape_but_html_filling_escapes_text_and_values():
    values = {**VALUES, "contact.name": '<script>alert("x")</script> & co'}
    text = "<b>Dear</b> {{contact.name}} {{nope}}"
    assert fill(text, values) == '<b>Dear</b> <script>alert("x")</script> & co {{nope}}'
    html = str(fill_html(text, values))
    assert "<script>" not in html and "<b>" not in html
    assert html == (
        '&lt;b&gt;Dear&lt;/b&gt; <span class="var">&lt;script&gt;alert(&#34;x&#34;)'
        "&lt;/script&gt; &amp; co</span> {{nope}}"
    )


def test_a_value_holding_a_variable_is_not_filled_again():
    values = {**VALUES, "contact.name": "{{agent.name}}"}
    assert fill("{{contact.name}}", values) == "{{agent.name}}"
    assert str(fill_html("{{contact.name}}", values)) == '<span class="var">{{agent.name}}</span>'


def test_names_split_into_first_and_last():
    assert split_name("Ana María López") == ("Ana", "María López")
    assert split_name("  Cher ") == ("Cher", "")
    assert split_name("") == ("", "")


def test_every_variable_has_a_description():
    assert all(VARIABLES.values())
    assert {"contact.name", "contact.email", "contact.phone", "agent.name"} <= set(VARIABLES)
