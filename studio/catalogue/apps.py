from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "studio.catalogue"
    verbose_name = "Gemini model catalogue"
