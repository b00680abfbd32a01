"""Videos: the report's pictures of test videos, their frames read through the record contract.

`selection` (which videos each picture shows: mistakes, where the candidate changed the
answer, order flips; seeded, spread over classes), `frames` (their frames, read through
`pipeline.schema` only), `figures` (the matplotlib figures) and `pictures` (draws them
beside report.md and into each run's TensorBoard log dir).
"""
