from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "studio.generation"
    label = "generation"
