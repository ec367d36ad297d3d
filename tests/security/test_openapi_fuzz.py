"""Fuzzing: schemathesis generates requests from /api/openapi.json of the in-process ASGI app (with the world's
petitions, consultations and comments in every state behind it) and checks every response: no 5xx, and status
codes, content types, headers and bodies as the document declares them. Each operation gets valid and invalid
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
    }


def _run(operation, mode: GenerationMode, examples: int, statuses: dict, path_parameters=None) -> int:
    cases = 0

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

    check()
    return cases


def test_the_api_answers_every_generated_request_as_its_document_says(app, world):
    started = time.monotonic()
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 8, [o.label for o in operations]
    ids = _ids(world)
    cases, statuses = 0, {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            cases += _run(operation, mode, EXAMPLES, statuses)
        names = [p.name for p in operation.path_parameters]
        for name in names:
            for value in ids.get(name, []):
                cases += _run(operation, GenerationMode.POSITIVE, PINNED_EXAMPLES, statuses,
                              path_parameters={name: value})
    report(f"schemathesis: {len(operations)} operations, {cases} cases in {time.monotonic() - started:.1f} s, "
          f"statuses {dict(sorted(statuses.items()))}, 0 failures")
    assert not any(s >= 500 for s in statuses)
