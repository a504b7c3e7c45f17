from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "studio.accounts"
    label = "accounts"

    def ready(self) -> None:
        from studio import checks  # noqa: F401 - registers the system checks
