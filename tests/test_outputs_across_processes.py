"""Wait and join answered by a process that did not run the graph: the output is the
graph's output schema's keys there too, read from the thread's state."""

from __future__ import annotations

from langgraph_sdk import get_client

from tests.server import ServerProcess


async def test_a_run_ended_in_another_process_answers_its_output(fresh_database: str) -> None:
    worker = ServerProcess(database_uri=fresh_database).start()
    api = ServerProcess(
        database_uri=fresh_database, extra_env={"N_JOBS_PER_WORKER": "0"}
    ).start()  # runs nothing: every run it takes ends in the worker
    try:
        client = get_client(url=api.url)
        thread_id = (await client.threads.create())["thread_id"]
        output = await client.runs.wait(thread_id, "schemas", input={"question": "q"})
        assert output == {"answer": "A:q"}
        run = await client.runs.create(thread_id, "schemas_factory", input={"question": "r"})
        assert await client.runs.join(thread_id, run["run_id"]) == {"answer": "A:r"}
        state = await client.threads.get_state(thread_id)
        assert state["values"]["scratch"] == ["thought:q", "answered", "thought:r", "answered"]
        interrupted = (await client.threads.create())["thread_id"]
        stopped = await client.runs.wait(interrupted, "schemas_interrupt", input={"question": "q"})
        assert list(stopped) == ["__interrupt__"]
    finally:
        api.stop()
        worker.stop()
