"""Studio: a self-hosted team studio for Gemini 3 Pro Image."""
