from django.urls import path

from . import views

app_name = "sharing"

urlpatterns = [
    path("s/<str:token>/", views.shared_page, name="page"),
    path("s/<str:token>/older", views.shared_older, name="older"),
    path("s/<str:token>/m/<str:kind>/<int:pk>", views.shared_media, name="media"),
    path("s/<str:token>/copy", views.copy_shared, name="copy"),
    path("c/<int:conversation_id>/share", views.conversation_share, name="conversation"),
    path("links/<int:link_id>/revoke", views.revoke, name="revoke"),
    path("teams/<int:team_id>/links/", views.team_links, name="team"),
]
