from django.contrib import admin
from django.urls import include, path

from studio.ops.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("", include("studio.accounts.urls")),
    path("", include("studio.chat.urls")),
    path("", include("studio.sharing.urls")),
    path("", include("studio.billing.urls")),
]

handler400 = "studio.ops.errors.bad_request"
