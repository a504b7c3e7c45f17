from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "studio.ops"
    verbose_name = "Operations"
