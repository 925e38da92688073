"""Entities: which companies a story names (`resolve`), from the message's `tickers` field,
cashtags and the names of an entity dictionary (`dictionary`, `matcher`). The ticker is the
key every later step (story_entities, entity_hourly, watchlist alerts, the Company page) uses.
"""
