#!/usr/bin/env python
import os
import sys
import warnings

# google-genai 3.3.0 has invalid escape sequences in docstrings; hide the noise on first import.
warnings.filterwarnings("ignore", category=SyntaxWarning)

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
