"""Celery tasks of the intelligence app: thin wrappers that load by id and call one service."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from django.conf import settings

from core.schema import current_schema
from core.tasks import FanOutTask
from intelligence.generation import timesheets_generate
from intelligence.selectors import training_due
from intelligence.services import DUE_ACTOR, NIGHTLY_ACTOR, model_train_job, training_request
from jobs.fanout import tenants_fan_out
from jobs.services import JobAlreadyRunning
from tenants.selectors import tenant_list

logger = logging.getLogger(__name__)


@shared_task(name="intelligence.timesheets_generate", queue="generation")
def timesheets_generate_task(job_id: str) -> None:
    timesheets_generate(job_id=uuid.UUID(job_id))


@shared_task(name="intelligence.model_train", queue="training")
def model_train_task(job_id: str) -> None:
    model_train_job(job_id=uuid.UUID(job_id))


NIGHTLY_TASK = "intelligence.models_train_nightly"


@shared_task(name=NIGHTLY_TASK, base=FanOutTask)
def models_train_nightly_task() -> int:
    """Queue one training job per active tenant, staggered so the training queue is not hit all at once."""
    queued = 0

    def queue_one() -> bool:
        nonlocal queued
        try:
            training_request(actor=NIGHTLY_ACTOR, countdown_seconds=queued * settings.ML_TRAIN_STAGGER_SECONDS)
        except JobAlreadyRunning:
            logger.info("training already queued or running for %s", current_schema())
            return False
        queued += 1
        return True

    tenants_fan_out(NIGHTLY_TASK, queue_one, tenants=[tenant for tenant in tenant_list() if tenant.is_active])
    return queued


DUE_TASK = "intelligence.models_train_when_due"


@shared_task(name=DUE_TASK, base=FanOutTask)
def models_train_when_due_task() -> int:
    """Queue training for each active tenant with enough new decisions since its last run (hourly), so a busy
    tenant's model follows its people's decisions during the day and not only at night."""
    queued = 0

    def queue_one() -> bool:
        nonlocal queued
        if not training_due():
            return False
        try:
            training_request(actor=DUE_ACTOR, countdown_seconds=queued * settings.ML_TRAIN_STAGGER_SECONDS)
        except JobAlreadyRunning:
            return False
        queued += 1
        return True

    tenants_fan_out(DUE_TASK, queue_one, tenants=[tenant for tenant in tenant_list() if tenant.is_active])
    return queued
