"""IdempotentReplayMiddleware answers retries before the stack: its table must match the views."""

from django.conf import settings
from django.urls import resolve


def test_each_replayable_post_is_an_idempotent_create_needing_the_same_capability():
    assert settings.O2C_REPLAYABLE_POSTS
    for path, capability in settings.O2C_REPLAYABLE_POSTS.items():
        match = resolve(path)
        view = match.func.cls
        assert match.func.actions.get("post") == "create", path
        assert view.action_capabilities["create"] == capability, path


def test_the_middleware_sits_right_after_the_security_middleware():
    # Outside SecurityMiddleware a replay would lose its security headers; further in, it would
    # pay for sessions, language and routing that a retry does not need.
    assert settings.MIDDLEWARE[:2] == [
        "django.middleware.security.SecurityMiddleware",
        "o2c.common.middleware.IdempotentReplayMiddleware",
    ]
