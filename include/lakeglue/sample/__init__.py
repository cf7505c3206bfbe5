"""A deterministic, deliberately messy e-commerce raw lake for tests and the demo.

Messy on purpose (duplicates, late updates, malformed lines, schema drift, dirty strings) so every silver rule
has data that exercises it; deterministic so expected results can be computed independently and compared exactly.
"""

from lakeglue.sample.generator import SampleManifest, generate

__all__ = ["SampleManifest", "generate"]
