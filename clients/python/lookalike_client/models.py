"""The API's answers as dataclasses; field names are the OpenAPI schemas' property names (a test holds them to
the served document)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional


def _known(cls: Any, data: Dict[str, Any]) -> Dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in data.items() if key in names}


@dataclass
class Image:
    """A stored image's record (schema `Image`)."""
    id: str
    format: Optional[str] = None
    width: Optional[int] = None
    height: Optional[int] = None
    bytes: Optional[int] = None
    sha256: Optional[str] = None
    metadata: Dict[str, Any] = field(default_factory=dict)
    created_at: Optional[str] = None
    updated_at: Optional[str] = None

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Image":
        return cls(**_known(cls, data))


@dataclass
class Duplicate:
    id: str
    score: float


@dataclass
class Upload(Image):
    """An upload's answer (schema `Upload`): the record and its stored near-duplicates."""
    duplicates: List[Duplicate] = field(default_factory=list)
    replaced: bool = False

    @classmethod
    def from_json(cls, data: Dict[str, Any], replaced: bool = False) -> "Upload":
        values = _known(cls, data)
        values["duplicates"] = [Duplicate(id=d.get("id", ""), score=float(d.get("score", 0))) for d in data.get("duplicates", [])]
        values["replaced"] = replaced
        return cls(**values)


@dataclass
class Match:
    id: str
    score: float
    metadata: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Group:
    value: Any
    results: List[Match]


@dataclass
class Results:
    """A search's answer (schema `Results`): matches best first, or groups when `group_by` was given."""
    results: List[Match] = field(default_factory=list)
    groups: List[Group] = field(default_factory=list)
    took_ms: float = 0.0
    total: Optional[int] = None

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Results":
        def match(m: Dict[str, Any]) -> Match:
            return Match(id=m.get("id", ""), score=float(m.get("score", 0)), metadata=m.get("metadata") or {})
        return cls(results=[match(m) for m in data.get("results", [])],
                   groups=[Group(value=g.get("value"), results=[match(m) for m in g.get("results", [])]) for g in data.get("groups", [])],
                   took_ms=float(data.get("took_ms", 0)), total=data.get("total"))

    def ids(self) -> List[str]:
        return [m.id for m in self.results]


@dataclass
class Recipe:
    """How images become vectors (schema `Recipe`)."""
    crop: str = "center"
    trim_borders: bool = False
    mirror_average: bool = False
    feature_power: float = 1.0

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Recipe":
        return cls(**_known(cls, data))


@dataclass
class RecipeChange:
    """A re-embedding's progress (schema `RecipeChange`)."""
    state: str
    from_: Recipe = field(default_factory=Recipe)
    target: Recipe = field(default_factory=Recipe)
    total: int = 0
    done: int = 0
    resumed: int = 0
    images_per_second: float = 0.0
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    error: Optional[str] = None
    failures: List[Dict[str, str]] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.state in ("done", "failed")

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "RecipeChange":
        values = _known(cls, data)
        values["target"] = Recipe.from_json(data.get("target", {}))
        values["from_"] = Recipe.from_json(data.get("from", {}))
        return cls(**values)


@dataclass
class Collection:
    """A collection (schema `Collection`)."""
    name: str
    images: int = 0
    bytes: int = 0
    index_bytes: int = 0
    index_state: str = ""
    index_kind: str = ""
    code_scheme: str = ""
    code_bits: int = 0
    model: str = ""
    sequence: int = 0
    created_at: Optional[str] = None
    indexes: Dict[str, str] = field(default_factory=dict)
    recipe: Recipe = field(default_factory=Recipe)
    recipe_change: Optional[RecipeChange] = None

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Collection":
        values = _known(cls, data)
        values["recipe"] = Recipe.from_json(data.get("recipe", {}))
        values["recipe_change"] = RecipeChange.from_json(data["recipe_change"]) if data.get("recipe_change") else None
        return cls(**values)


@dataclass
class Decision:
    """A "not duplicates" decision (schema `Decision`)."""
    id: str
    decision: str = "not_duplicates"
    ids: List[str] = field(default_factory=list)
    created_at: Optional[str] = None

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Decision":
        return cls(**_known(cls, data))


@dataclass
class DuplicateGroups:
    """A page of near-duplicate groups (schema `DuplicateGroups`)."""
    groups: List[List[str]]
    total_groups: int = 0
    total_images: int = 0
    threshold: float = 0.0
    next: Optional[str] = None

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "DuplicateGroups":
        return cls(**_known(cls, data))


@dataclass
class BatchItem:
    file: str
    id: Optional[str]
    status: int
    error: Optional[str] = None
    duplicates: List[Dict[str, Any]] = field(default_factory=list)


@dataclass
class BatchResults:
    """A batch upload's answer (schema `BatchResults`): one status per file."""
    stored: int
    failed: int
    results: List[BatchItem]

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "BatchResults":
        return cls(stored=data.get("stored", 0), failed=data.get("failed", 0),
                   results=[BatchItem(**_known(BatchItem, r)) for r in data.get("results", [])])


@dataclass
class ImportJob:
    """An import job's state (schema `ImportJob`)."""
    id: str
    collection: str
    state: str
    source: str = ""
    concurrency: int = 0
    on_duplicate: str = "store"
    created_at: Optional[str] = None
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    total: int = 0
    done: int = 0
    counts: Dict[str, int] = field(default_factory=dict)
    items_per_second: Optional[float] = None
    eta_seconds: Optional[float] = None

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "ImportJob":
        return cls(**_known(cls, data))

    @property
    def ended(self) -> bool:
        return self.state in ("completed", "cancelled")


@dataclass
class ImportItem:
    """One item of an import job and its outcome (schema `ImportItems`)."""
    position: int
    state: str
    attempts: int = 0
    id: Optional[str] = None
    url: Optional[str] = None
    path: Optional[str] = None
    reason: Optional[str] = None

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "ImportItem":
        return cls(**_known(cls, data))


@dataclass
class Page:
    """A page of a listing and the cursor of the next one (None on the last)."""
    items: List[Any]
    next: Optional[str] = None
