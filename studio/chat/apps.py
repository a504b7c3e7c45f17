from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "studio.chat"
    label = "chat"
