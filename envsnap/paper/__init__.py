"""The paper artifact: a bundle that archives, cites and grades itself (docs/artifact.md).

``metadata`` reads who and what the artifact is (``--title``/``--author``/``--license``/``--doi``, or the
project's CITATION.cff); ``swhid`` identifies the project's code the way Software Heritage does; ``crate`` writes
the RO-Crate, ``citation`` CITATION.cff and ``.zenodo.json``, ``reproducing`` the reviewer's REPRODUCING.md;
``audit`` grades a lock or a bundle against the artifact badges. ``artifact`` puts them into a bundle.

Layer: beside ``fleet`` and ``runs`` (it reads run records), below the CLI.
"""
