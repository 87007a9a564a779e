"""Claude analysis of the frames that matter: selection, limits, the API call, storage."""
