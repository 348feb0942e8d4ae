"""Webhooks: a request's callback_url is told, signed, when its job is complete or failed.

    schedule.py    when a failed delivery is tried again (backoff, Retry-After, 24 h horizon)
    sender.py      one signed, SSRF-safe POST (standardwebhooks, requests-hardened)
    dispatcher.py  the records on disk and the per-process thread that delivers them
"""
