"""flowdoc: the e-commerce department's controlled process manual, as data.

Layers, bottom to top (nothing imports upward): ``errors``, ``yamlsource``, ``expr`` →
``model`` → ``loader`` and ``checks`` → capabilities (``records``, later ``diagram``, ``manual``,
``forms``, ``search``) → ``cli``.
"""

__version__ = "0.1.0"
