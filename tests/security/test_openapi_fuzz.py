"""Fuzzing: schemathesis generates requests from /api/openapi.json of the in-process ASGI app (with the world's
petitions, consultations and comments in every state behind it) and checks every response: no 5xx, and status
codes, content types, headers and bodies as the document declares them; a filter outside its enum is a 422. Each operation gets valid and invalid
input, and valid input again with its path ids pinned to the world's objects (random ids are nearly all 404s)."""
from __future__ import annotations

import time

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from security_world import report
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection

EXAMPLES = 25          # per operation and generation mode
PINNED_EXAMPLES = 6    # per operation and pinned id


def _ids(world) -> dict[str, list[int]]:
    return {
        "petition_id": [world.petition, world.petition_rejected, world.petition_unconfirmed,
                        world.petition_sponsoring, world.petition_pending, world.petition_hidden],
        "consultation_id": [world.consultation, world.strict_consultation, world.draft],
        "dataset": world.datasets,
        "day": [world.snapshot_day],
    }


def _enum_params(document: dict) -> dict[tuple[str, str], dict[str, list]]:
    """(METHOD, path) -> {query parameter: allowed values} for every query parameter the document lists as an enum."""
    out: dict = {}
    for path, methods in document["paths"].items():
        for method, spec in methods.items():
            enums = {p["name"]: p["schema"]["enum"] for p in spec.get("parameters", [])
                     if p.get("in") == "query" and "enum" in p.get("schema", {})}
            out[(method.upper(), path)] = enums
    return out


def _run(operation, mode: GenerationMode, examples: int, statuses: dict, enums: dict, path_parameters=None) -> int:
    cases = 0
    allowed = enums.get((operation.method.upper(), operation.path), {})

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def check(case):
        nonlocal cases
        cases += 1
        # Every check but "invalid input must be refused": the API clamps some inputs on purpose (page=-2.5 reads
        # page 1); the filters it must refuse (an unknown `state`) have their own tests.
        response = case.call_and_validate(excluded_checks=[negative_data_rejection])
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        # ...but a filter outside its listed values is refused, not silently ignored
        for name, values in allowed.items():
            value = (case.query or {}).get(name)
            if value not in (None, "") and value not in values:  # empty means "no filter"
                assert response.status_code == 422, (
                    f"{case.method} {case.formatted_path} with {name}={value!r} (not one of {values}) answered "
                    f"{response.status_code}: an unknown filter value should be a 422 that lists the valid ones")

    check()
    return cases


def test_the_api_answers_every_generated_request_as_its_document_says(app, world):
    started = time.monotonic()
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 8, [o.label for o in operations]
    ids = _ids(world)
    enums = _enum_params(schema.raw_schema)
    cases, statuses = 0, {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            cases += _run(operation, mode, EXAMPLES, statuses, enums)
        names = [p.name for p in operation.path_parameters]
        for name in names:
            for value in ids.get(name, []):
                cases += _run(operation, GenerationMode.POSITIVE, PINNED_EXAMPLES, statuses, enums,
                              path_parameters={name: value})
    report(f"schemathesis: {len(operations)} operations, {cases} cases in {time.monotonic() - started:.1f} s, "
          f"statuses {dict(sorted(statuses.items()))}, 0 failures")
    assert not any(s >= 500 for s in statuses)


def test_an_unknown_state_filter_is_refused_with_the_valid_values(client, world):
    for path, valid in (("/api/petitions", "open, closed"), ("/api/consultations", "open, closed, reported")):
        response = client.get(path, params={"state": "hidden"})
        assert response.status_code == 422, (path, response.status_code)
        assert valid in response.json()["error"]["message"]
        zh = client.get(path, params={"state": "draft"}, headers={"Accept-Language": "zh-CN"})
        assert zh.status_code == 422 and "未知的状态筛选" in zh.json()["error"]["message"]
