"""What every Vigil service that calls Claude shares (the ``claude`` extra of vigil-runtime).

- :mod:`.client`: the SDK client from a key, base URL, timeout and retries (None without a
  key), and upper bounds of a request's tokens for budget reservations;
- :mod:`.errors`: the SDK's exceptions as ``ClaudeUnavailableError`` (the breaker counts it)
  or ``ClaudeRejectedError`` (our request's fault);
- :mod:`.image`: a JPEG resized to at most 1568 px on its long edge, as an image block;
- :mod:`.cost`: the prices, an answer's billed tokens and their cost;
- :mod:`.admission`: whether a call may go now: rate limits, the daily token budget, the
  circuit breaker, and settling the budget and the breaker with the call's outcome.

The prompts, tools and answers stay in the services.
"""
