"""Models behind an HTTP endpoint: the wire protocol, the client (:class:`HTTPModel`, a black-box model like any
other) and the reference server that puts any model behind that protocol."""

from mesampler.remote.client import HTTPModel, RemoteModelError
from mesampler.remote.server import ModelServer, make_server, serve_in_thread

__all__ = ["HTTPModel", "ModelServer", "RemoteModelError", "make_server", "serve_in_thread"]
