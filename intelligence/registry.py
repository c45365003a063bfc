"""Model registry: versioned artifacts in the tenant schema, loaded once per process and cached by version.

An artifact is the joblib dump of a `ModelBundle` stored in `ModelArtifact.artifact` with its SHA-256. The
checksum is verified before anything is unpickled, so a truncated or altered blob is reported as corrupt
rather than half-loaded; the bytes only ever come from this tenant's own training runs. A failed load is
remembered for that version too, so a corrupt artifact costs one read per process, not one per chunk.
"""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import joblib
from django.db.models import Max

from core.errors import ApplicationError
from core.schema import current_schema
from core.ttlcache import TtlCache
from intelligence.models import ArtifactStatus, ModelArtifact

logger = logging.getLogger(__name__)


class ArtifactUnavailable(ApplicationError):
    """The active model's artifact cannot be used: the rules engine answers instead."""

    status = 503
    code = "model_artifact_unavailable"
    state = "unavailable"


class ArtifactMissing(ArtifactUnavailable):
    code = "model_artifact_missing"
    state = "missing"


class ArtifactCorrupt(ArtifactUnavailable):
    code = "model_artifact_corrupt"
    state = "corrupt"


@dataclass(frozen=True)
class ArtifactRef:
    """What identifies the active artifact without reading its bytes (one small query)."""

    id: uuid.UUID
    version: int
    sha256: str


@dataclass(frozen=True)
class LoadedModel:
    ref: ArtifactRef
    bundle: Any  # intelligence.predictor.ModelBundle; typed loosely to keep this module free of sklearn


def artifact_dump(bundle: Any) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    joblib.dump(bundle, buffer, compress=3)
    payload = buffer.getvalue()
    return payload, hashlib.sha256(payload).hexdigest()


def artifact_next_version() -> int:
    current = ModelArtifact.objects.aggregate(top=Max("version"))["top"]
    return int(current or 0) + 1


def active_ref() -> ArtifactRef | None:
    row = (
        ModelArtifact.objects.filter(status=ArtifactStatus.ACTIVE)
        .values_list("id", "version", "artifact_sha256")
        .first()
    )
    return None if row is None else ArtifactRef(id=row[0], version=row[1], sha256=row[2])


# (schema, artifact id, checksum) -> the loaded model, or why it cannot be used: an artifact never changes
# under its checksum, so entries only leave to make room.
_cache: TtlCache[tuple[str, uuid.UUID, str], LoadedModel | ArtifactUnavailable] = TtlCache(
    "ml-models", maxsize=64, ttl=None
)


def _load(ref: ArtifactRef) -> LoadedModel:
    payload = ModelArtifact.objects.filter(id=ref.id).values_list("artifact", flat=True).first()
    if payload is None or len(payload) == 0:
        raise ArtifactMissing(f"The artifact of model v{ref.version} is missing.")
    data = bytes(payload)
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        raise ArtifactCorrupt(f"The artifact of model v{ref.version} fails its checksum.")
    try:
        bundle = joblib.load(io.BytesIO(data))
    except Exception as exc:  # an unreadable pickle, whatever the library says about it
        raise ArtifactCorrupt(f"The artifact of model v{ref.version} cannot be loaded: {type(exc).__name__}") from exc
    return LoadedModel(ref=ref, bundle=bundle)


def model_load(ref: ArtifactRef) -> LoadedModel:
    """The artifact `ref` of the current tenant, from the process cache or the database (once per version)."""
    key = (current_schema(), ref.id, ref.sha256)
    cached = _cache.get(key)
    if cached is None:
        try:
            cached = _load(ref)
        except ArtifactUnavailable as exc:
            logger.warning("model v%s of %s is unusable: %s", ref.version, key[0], exc.message)
            cached = exc
        _cache.put(key, cached)
    if isinstance(cached, ArtifactUnavailable):
        raise cached
    return cached


@dataclass(frozen=True)
class ArtifactHealth:
    state: str  # "none", "ok", "missing", "corrupt"
    error: str = ""


def active_health() -> tuple[ArtifactRef | None, ArtifactHealth]:
    ref = active_ref()
    if ref is None:
        return None, ArtifactHealth(state="none")
    try:
        model_load(ref)
    except ArtifactUnavailable as exc:
        return ref, ArtifactHealth(state=exc.state, error=exc.message)
    return ref, ArtifactHealth(state="ok")
