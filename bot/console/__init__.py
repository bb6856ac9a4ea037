"""The operator console served by the HTTP app."""
