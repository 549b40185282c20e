"""flowdoc: the e-commerce department's controlled process manual, as data.

Floors, bottom to top (see ARCHITECTURE.md): the model, loader, checks and the seal
(``seal.canonical``, ``seal.keys``, ``seal.signoff``, ``trust``) → the folder store
(``archive.store``) → capabilities (``diagram``, ``manual``, ``forms``, ``publish``,
``records``, ``archive``, ``search``, ``lifecycle``) → the service layer (``service``) → the
front doors (``cli``, ``web``).
"""

__version__ = "0.1.0"
