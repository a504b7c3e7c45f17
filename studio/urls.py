from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("studio.accounts.urls")),
    path("", include("studio.chat.urls")),
    path("", include("studio.sharing.urls")),
    path("", include("studio.billing.urls")),
]

handler400 = "studio.ops.errors.bad_request"
