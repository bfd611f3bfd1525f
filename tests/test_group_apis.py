"""Each group's ``api.py`` views copy fields off its rows by name: every field must exist there."""

from __future__ import annotations

from dataclasses import fields

import pytest

from shifty_ent.arcade import api as arcade_api
from shifty_ent.data import api as data_api
from shifty_ent.gpu import api as gpu_api
from shifty_ent.model import api as model_api
from shifty_ent.model.tables import ModelVersion

VIEWS = [
    (data_api.AssetView, data_api.Asset, ()),
    (data_api.CertificateView, data_api.DeletionCertificate, ()),
    (gpu_api.InstanceView, gpu_api.GpuInstance, ()),
    (arcade_api.MissionView, arcade_api.Mission, ("contract",)),
    (model_api.VersionView, ModelVersion, ()),
]


@pytest.mark.parametrize(
    ("view", "table", "extra"), VIEWS, ids=lambda v: getattr(v, "__name__", "")
)
def test_view_fields_are_columns_of_their_table(view, table, extra):
    columns = set(table.__table__.columns.keys())
    missing = [f.name for f in fields(view) if f.name not in columns and f.name not in extra]
    assert missing == [], f"{view.__name__} names fields {table.__name__} does not have"


def test_views_are_frozen():
    for view, _, _ in VIEWS:
        assert view.__dataclass_params__.frozen, view.__name__
