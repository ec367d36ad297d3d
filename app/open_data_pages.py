"""The open data page: every dataset, its live API and its dated snapshots, with how to cite each one."""
from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import open_data
from app.db import run_query
from app.templating import render

@dataclass(frozen=True)
class Citation:
    publisher: str
    title: str
    as_of: str
    url: str
    sha256: str


def citation(request: Request, dataset: open_data.Dataset, info: open_data.SnapshotInfo) -> Citation:
    day = info.as_of.isoformat()
    return Citation(request.app.state.settings.site_name, str(dataset.title), day,
                    request.app.state.renderer.absolute_url("api:snapshot_json", dataset=info.dataset, day=day),
                    info.sha256)


async def index(request: Request) -> Response:
    registry = request.app.state.open_data
    snapshots = await run_query(request, open_data.list_snapshots)
    datasets = []
    for dataset in registry:
        mine = [s for s in snapshots if s.dataset == dataset.name]
        datasets.append({"dataset": dataset, "snapshots": mine,
                         "cite": citation(request, dataset, mine[0]) if mine else None})
    return render(request, "open_data/index.html", {"datasets": datasets})


async def snapshot_page(request: Request) -> Response:
    registry = request.app.state.open_data
    info = await run_query(request, open_data.find_info, registry=registry,
                           dataset=request.path_params["dataset"][:100], day=request.path_params["day"][:40])
    dataset = registry.get(info.dataset)
    return render(request, "open_data/snapshot.html", {
        "dataset": dataset, "info": info, "cite": citation(request, dataset, info)})


routes = [
    Route("/open-data", index, name="open_data"),
    Route("/open-data/{dataset}/{day}", snapshot_page, name="open_data_snapshot"),
]
