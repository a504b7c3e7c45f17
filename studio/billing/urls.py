from django.urls import path

from . import views

app_name = "billing"
urlpatterns = [
    path("teams/<int:team_id>/usage/", views.team_usage, name="team_usage"),
    path("teams/<int:team_id>/usage.csv", views.team_usage_csv, name="team_usage_csv"),
    path("teams/<int:team_id>/usage/confirm", views.team_confirm_threshold, name="team_confirm"),
    path("usage/", views.my_usage, name="my_usage"),
    path("usage.csv", views.my_usage_csv, name="my_usage_csv"),
]
