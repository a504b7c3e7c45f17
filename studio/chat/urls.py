from django.urls import path

from . import views

app_name = "chat"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search_page, name="search"),
    path("p/<int:project_id>/", views.project, name="project"),
    path("c/<int:conversation_id>/", views.conversation, name="conversation"),
    path("c/<int:conversation_id>/turns", views.turn_create, name="turn_create"),
    path("c/<int:conversation_id>/older", views.older_turns, name="older_turns"),
    path("c/<int:conversation_id>/queue", views.queue_positions, name="queue_positions"),
    path("c/<int:conversation_id>/estimate", views.composer_estimate, name="composer_estimate"),
    path("c/<int:conversation_id>/rename", views.conversation_rename, name="conversation_rename"),
    path("c/<int:conversation_id>/archive", views.conversation_archive, name="conversation_archive"),
    path("c/<int:conversation_id>/restore", views.conversation_restore, name="conversation_restore"),
    path("c/<int:conversation_id>/delete", views.conversation_delete, name="conversation_delete"),
    path("c/<int:conversation_id>/context", views.next_call_context, name="next_call_context"),
    path("c/<int:conversation_id>/versions", views.version_history, name="versions"),
    path("c/<int:conversation_id>/compare", views.version_compare, name="compare"),
    path("media/v/<int:image_id>/lineage.zip", views.lineage_download, name="lineage_zip"),
    path("r/<int:response_id>/<str:action>", views.response_action, name="response_action"),
    path("media/v/<int:image_id>", views.image_original, name="image"),
    path("media/v/<int:image_id>/thumb", views.image_thumbnail, name="image_thumb"),
    path("media/v/<int:image_id>/rendition", views.image_rendition, name="image_rendition"),
    path("media/ref/<int:reference_id>/thumb", views.reference_thumbnail, name="reference_thumb"),
    path("grounding/<int:response_id>", views.search_suggestions, name="search_suggestions"),
]
