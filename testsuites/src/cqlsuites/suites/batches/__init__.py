"""batches: what the server promises for each batch type, and what it refuses.

LOGGED, UNLOGGED and COUNTER batches apply every statement; conditional batches answer with
the existing row when not applied; the server's batch-size warning reaches the client as a
driver warning and its fail threshold as an error. Every check reads the data back.
"""
