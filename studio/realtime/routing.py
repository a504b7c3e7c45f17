from django.urls import path

from studio.sharing.consumers import ShareConsumer

from .consumers import ConversationConsumer

websocket_urlpatterns = [
    path("ws/conversations/<int:conversation_id>/", ConversationConsumer.as_asgi()),
    path("ws/share/<str:token>/", ShareConsumer.as_asgi()),
]
