"""Benchmark: training a tenant's model on 90 days x 1,000 employees, and the batch prediction rate.

    flock /tmp/hrms-bench.lock scripts/with-env.sh .venv/bin/python loadtests/bench_ml.py
    .venv/bin/python loadtests/bench_ml.py --employees 200      # a quicker look

Seeds one tenant in a database of its own (hrms_bench_ml, dropped afterwards unless --keep) with
`seed_demo` (90 training days + 8 weeks of history before them + the week without review), runs
`manage.py train_model` in a separate process and reads its peak RSS, then, in this process, builds the
features of a month for every employee and times the predictor's vectorized predict on them. Generation of
that month is timed with the rules engine only and again with the trained model active.
Targets (DESIGN.md §10): training <= 60 s with peak RSS <= 1 GB; batch prediction >= 200,000 rows/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.common import (
    bench_env,
    bench_finish,
    bench_tenant_create,
    database_recreate,
    database_url,
    manage,
)

HISTORY_DAYS = 56
REVIEW_LAG_DAYS = 7


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=1_000)
    parser.add_argument("--train-days", type=int, default=90)
    parser.add_argument("--predict-days", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--database", default="hrms_bench_ml")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args()

    url = database_url(args.database)
    database_recreate(url)
    env = bench_env(url)
    os.environ.update(env)
    end = date.today() - timedelta(days=1)
    seed_days = args.train_days + HISTORY_DAYS + REVIEW_LAG_DAYS
    try:
        manage("migrate_tenants", env=env, echo=False)
        bench_tenant_create("bench", env=env)
        seed_seconds, _ = manage(
            "seed_demo",
            "--tenant=bench",
            f"--employees={args.employees}",
            f"--days={seed_days}",
            f"--end-date={end.isoformat()}",
            env=env,
            echo=False,
        )
        period_end = end
        period_start = end - timedelta(days=args.predict_days - 1)
        generate = ("generate_timesheets", "--tenant=bench", f"--start={period_start}", f"--end={period_end}")
        rules_wall, rules_rss = manage(*generate, env=env, echo=False)
        train_wall, train_rss = manage("train_model", "--tenant=bench", env=env, echo=False)
        model_wall, model_rss = manage(*generate, env=env, echo=False)

        import django

        django.setup()
        import numpy as np
        from django_tenants.utils import tenant_context

        from intelligence.features import ProjectTable, chunk_features
        from intelligence.generation import CHUNK_SIZE
        from intelligence.models import ModelArtifact
        from intelligence.predictor import predict_bundle, predictor_active
        from jobs.models import BackgroundJob
        from tenants.models import Tenant
        from timesheets.models import Employee

        tenant = Tenant.objects.get(slug="bench")
        with tenant_context(tenant):
            artifact = ModelArtifact.objects.defer("artifact").order_by("-version").first()
            assert artifact is not None
            jobs = list(BackgroundJob.objects.filter(job_type="timesheet_generation").order_by("created_at"))
            rules_job, model_job = jobs[-2], jobs[-1]
            predictor = predictor_active()
            if predictor is None:
                print(f"model v{artifact.version} was not activated: {artifact.reason}")
                return 1
            projects = ProjectTable.load()
            ids = list(Employee.objects.order_by("id").values_list("id", flat=True))
            blocks = []
            feature_began = time.perf_counter()
            for first in range(0, len(ids), CHUNK_SIZE):
                _, candidates = chunk_features(
                    employee_ids=ids[first : first + CHUNK_SIZE],
                    start=period_start,
                    end=period_end,
                    projects=projects,
                )
                blocks.append(candidates.X)
            feature_seconds = time.perf_counter() - feature_began
        chunk_rows = len(blocks[0])
        X = np.concatenate(blocks)
        predict_bundle(predictor.bundle, X[:1000])  # warm-up
        chunk_times, full_times = [], []
        for _ in range(args.repeats):
            for block in blocks:
                began = time.perf_counter()
                predict_bundle(predictor.bundle, block)
                chunk_times.append((len(block), time.perf_counter() - began))
            began = time.perf_counter()
            predict_bundle(predictor.bundle, X)
            full_times.append(time.perf_counter() - began)
        chunk_rate = sum(n for n, _ in chunk_times) / sum(t for _, t in chunk_times)
        full_rate = len(X) / min(full_times)
        metrics = artifact.metrics
        model, rules = metrics["model"], metrics["rules"]

        def job_seconds(job: BackgroundJob) -> float:
            assert job.started_at is not None
            assert job.finished_at is not None
            return (job.finished_at - job.started_at).total_seconds()

        print(f"employees x training days:   {args.employees} x {args.train_days} (seed_demo {seed_seconds:.1f} s)")
        print(f"training samples / holdout:  {artifact.samples} candidates / {artifact.holdout_samples}")
        print(f"training (fit + holdout):    {artifact.training_seconds:.1f} s  (target <= 60)")
        print(f"train_model process:         wall {train_wall:.1f} s, peak RSS {train_rss} MB  (target <= 1024)")
        print(f"model v{artifact.version} {artifact.status}: {artifact.reason}")
        print(
            f"holdout hours MAE:           model {model['hours_mae']:.3f} vs rules {rules['hours_mae']:.3f} "
            f"({100 * (1 - model['hours_mae'] / rules['hours_mae']):.0f}% lower)"
        )
        print(
            f"holdout log-loss / ECE:      model {model['acceptance_log_loss']:.3f} / {model['ece']:.3f}, "
            f"rules {rules['acceptance_log_loss']:.3f} / {rules['ece']:.3f}"
        )
        print(f"features, {args.predict_days} days:         {len(X)} rows in {feature_seconds:.2f} s")
        print(f"batch predict, per chunk:    {chunk_rows} rows/chunk, {chunk_rate:,.0f} rows/s  (target >= 200,000)")
        print(f"batch predict, one batch:    {len(X)} rows, {full_rate:,.0f} rows/s")
        print(
            f"generation {args.predict_days} days, rules:   job {job_seconds(rules_job):.1f} s "
            f"(wall {rules_wall:.1f} s, RSS {rules_rss} MB)"
        )
        print(
            f"generation {args.predict_days} days, model:   job {job_seconds(model_job):.1f} s "
            f"(wall {model_wall:.1f} s, RSS {model_rss} MB), {model_job.result['model_days']} of "
            f"{model_job.result['employee_days']} employee-days by the model"
        )
    finally:
        bench_finish(url, keep=args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
