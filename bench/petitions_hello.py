"""A bare Starlette hello endpoint: the calibration baseline for bench/viral_petition.py.

Served by the same uvicorn (same worker count, uvloop, httptools) as `civic serve`.
"""
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def hello(request):
    return PlainTextResponse("hello")


app = Starlette(routes=[Route("/", hello)])
