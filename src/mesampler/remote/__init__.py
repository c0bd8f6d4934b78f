"""Models behind HTTP: Open Inference Protocol endpoints (:class:`V2Model`, KServe v2 / Triton), the older
mesampler protocol (:class:`HTTPModel`), and the server that puts any model behind both."""

from mesampler.remote.client import HTTPModel
from mesampler.remote.server import ModelServer, make_server, serve_in_thread
from mesampler.remote.transport import RemoteModelError
from mesampler.remote.v2_client import V2Model, is_v2_url

__all__ = ["HTTPModel", "ModelServer", "RemoteModelError", "V2Model", "is_v2_url", "make_server", "serve_in_thread"]
