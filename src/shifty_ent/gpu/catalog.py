"""GPU types and regions: our names -> vast.ai offer filters.

vast.ai spells GPU names with spaces ("RTX 4090") and does not put memory in the name, so the A100
40 GB and 80 GB cards differ only by ``gpu_ram`` (MB). Offers filter location only by two-letter
country code (``geolocation``); a region such as ``us-east`` is a country filter sent to vast.ai
plus a state filter applied to the offer's ``geolocation`` text ("Virginia, US").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shifty_ent.core.errors import InvalidInput


@dataclass(frozen=True)
class GpuType:
    name: str
    vast_names: tuple[str, ...]
    gpu_ram_filter: dict[str, int] = field(default_factory=dict)
    memory_gb: int = 0
    description: str = ""

    def filters(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if len(self.vast_names) == 1:
            out["gpu_name"] = {"eq": self.vast_names[0]}
        else:
            out["gpu_name"] = {"in": list(self.vast_names)}
        if self.gpu_ram_filter:
            out["gpu_ram"] = dict(self.gpu_ram_filter)
        return out

    def matches(self, offer_gpu_name: str | None, gpu_ram_mb: float | None) -> bool:
        """Client-side re-check of an offer (a server that ignored a filter must not fool us)."""
        if offer_gpu_name not in self.vast_names:
            return False
        if gpu_ram_mb is None:
            return not self.gpu_ram_filter
        for op, bound in self.gpu_ram_filter.items():
            if op == "lt" and not gpu_ram_mb < bound:
                return False
            if op == "gte" and not gpu_ram_mb >= bound:
                return False
        return True

    def public(self) -> dict[str, Any]:
        return {
            "type": self.name,
            "vast_gpu_names": list(self.vast_names),
            "gpu_ram_mb": self.gpu_ram_filter or None,
            "memory_gb": self.memory_gb,
            "description": self.description,
        }


GPU_TYPES: dict[str, GpuType] = {
    t.name: t
    for t in (
        GpuType("RTX_3090", ("RTX 3090",), {}, 24, "GeForce RTX 3090, 24 GB"),
        GpuType("RTX_4090", ("RTX 4090",), {}, 24, "GeForce RTX 4090, 24 GB"),
        GpuType(
            "A100_40GB", ("A100 PCIE", "A100 SXM4"), {"lt": 60000}, 40, "A100 40 GB, PCIe or SXM4"
        ),
        GpuType(
            "A100_80GB", ("A100 PCIE", "A100 SXM4"), {"gte": 70000}, 80, "A100 80 GB, PCIe or SXM4"
        ),
        GpuType("H100", ("H100 PCIE", "H100 SXM", "H100 NVL"), {}, 80, "H100 PCIe, SXM or NVL"),
    )
}


def gpu_type(name: str) -> GpuType:
    key = (name or "").strip().upper().replace("-", "_").replace(" ", "_")
    if key not in GPU_TYPES:
        raise InvalidInput(f"unknown GPU type {name!r}; choose one of {', '.join(GPU_TYPES)}")
    return GPU_TYPES[key]


_US_EAST = (
    "Maine", "New Hampshire", "Vermont", "Massachusetts", "Rhode Island", "Connecticut",
    "New York", "New Jersey", "Pennsylvania", "Delaware", "Maryland", "Virginia",
    "West Virginia", "North Carolina", "South Carolina", "Georgia", "Florida", "Ohio",
    "Michigan", "Indiana", "Kentucky", "Tennessee", "Alabama", "District of Columbia",
)  # fmt: skip
_US_WEST = (
    "Washington", "Oregon", "California", "Nevada", "Idaho", "Montana", "Wyoming", "Utah",
    "Colorado", "Arizona", "New Mexico", "Alaska", "Hawaii",
)  # fmt: skip
_US_CENTRAL = (
    "North Dakota", "South Dakota", "Nebraska", "Kansas", "Oklahoma", "Texas", "Minnesota",
    "Iowa", "Missouri", "Arkansas", "Louisiana", "Wisconsin", "Illinois", "Mississippi",
)  # fmt: skip
_EU = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
)  # fmt: skip


@dataclass(frozen=True)
class Region:
    name: str
    countries: tuple[str, ...]
    states: tuple[str, ...] = ()  # match "State, CC" geolocations; empty = whole countries

    def filters(self) -> dict[str, Any]:
        if len(self.countries) == 1:
            return {"geolocation": {"eq": self.countries[0]}}
        return {"geolocation": {"in": list(self.countries)}}

    def matches(self, geolocation: str | None) -> bool:
        if not geolocation:
            return False
        parts = [p.strip() for p in geolocation.split(",")]
        country = parts[-1].upper()
        if country not in self.countries:
            return False
        if not self.states:
            return True
        return len(parts) > 1 and parts[0] in self.states


REGIONS: dict[str, Region] = {
    r.name: r
    for r in (
        Region("us", ("US",)),
        Region("us-east", ("US",), _US_EAST),
        Region("us-west", ("US",), _US_WEST),
        Region("us-central", ("US",), _US_CENTRAL),
        Region("north-america", ("US", "CA", "MX")),
        Region("eu", _EU),
        Region("eu-west", ("IE", "FR", "BE", "NL", "LU", "PT", "ES", "GB")),
        Region("eu-central", ("DE", "AT", "CH", "CZ", "PL", "HU", "SK", "SI")),
        Region("eu-north", ("SE", "FI", "DK", "NO", "EE", "LV", "LT", "IS")),
        Region("europe", (*_EU, "GB", "CH", "NO", "IS")),
        Region("asia", ("JP", "KR", "SG", "TW", "HK", "IN", "TH", "VN", "MY", "ID", "PH")),
        Region("oceania", ("AU", "NZ")),
    )
}


def region(name: str | None) -> Region | None:
    """A named region (``us-east``) or a two-letter country code (``CA``); None for anywhere."""
    if name is None or not name.strip():
        return None
    key = name.strip().lower()
    if key in REGIONS:
        return REGIONS[key]
    if len(key) == 2 and key.isalpha():
        return Region(key.upper(), (key.upper(),))
    raise InvalidInput(
        f"unknown region {name!r}; use a two-letter country code or one of {', '.join(REGIONS)}"
    )


def types_table() -> list[dict[str, Any]]:
    return [t.public() for t in GPU_TYPES.values()]
