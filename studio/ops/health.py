"""Probes for load balancers and orchestrators. /healthz: the process answers (nothing else is
touched, so a slow database never restarts a healthy web process). /readyz: it can do its work now:
the database answers with migrations applied, the channel layer round-trips, storage writes and
reads; with the runner in this process (embedded), or when asked with ?runners=1, a runner has
reported within a lease. The answer names each check and whether it passed; the reasons go to the
log, not to whoever asks."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .doctor import Finding, check_channel_layer, check_database, check_runners, check_storage

logger = logging.getLogger("studio.ops")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    findings: list[Finding] = [check_database(), check_channel_layer(), check_storage()]
    if settings.STUDIO_RUNNER == "embedded" or request.GET.get("runners") == "1":
        findings.append(check_runners())
    for finding in findings:
        if not finding.ok:
            logger.warning("not ready: %s", finding.line())
    ready = all(finding.ok for finding in findings)
    checks = {finding.name.replace(" ", "_"): finding.ok for finding in findings}
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)
