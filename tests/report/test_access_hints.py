"""access_audit reads an event's classification from its stored details text without parsing in
the common case; that shortcut must agree with parsing for every details object."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from shifty_ent.core.canonical import compact_json
from shifty_ent.report.access_audit import _hinted, _hinted_text

CLASSES = ["pii", "phi", "public", "internal", "confidential", "restricted", 'p"ii', "p\\ii", ""]
KEYS = ["classification", "classifications", "asset_classifications", "classified_assets", "via"]
text = st.one_of(st.sampled_from(CLASSES), st.text(max_size=6))
leaf = st.one_of(st.none(), st.booleans(), st.integers(), text)
value = st.recursive(
    leaf,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
details = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), value, max_size=4)


@given(details)
def test_shortcut_agrees_with_parsing(d):
    expected = _hinted(d)
    assert _hinted_text(compact_json(d)) == expected
    assert _hinted_text(json.dumps(d)) == expected  # spacing as older versions stored it


def test_the_cases_that_matter():
    assert _hinted_text('{"classification":"pii","via":"asset show"}') == "pii"
    assert _hinted_text('{"classification":"public"}') == ""
    assert _hinted_text('{"meta":{"classification":"pii"}}') is None  # not top level
    assert _hinted_text('{"note":"\\"classification\\":\\"pii\\""}') is None
    assert _hinted_text('{"classifications":["internal","phi"]}') == "phi"
    assert _hinted_text('{"classified_assets":3}') == "classified"
    assert _hinted_text('{"size":1}') is None
    assert _hinted_text('{"classification":["pii"]}') == ""  # not a name: no crash either
