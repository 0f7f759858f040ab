"""Executes Jupyter notebooks headlessly (nbclient) and saves them with their outputs.

Used by scripts/run-notebooks.sh; see there for the environment it sets up.

Why not `jupyter nbconvert --execute`: the Deno kernel publishes a cell's
outputs (its console.log lines, Deno.jupyter.display calls and even the
cell's value) from a different thread than its "idle" status, so an output
can reach the client just after "idle". nbclient takes "idle" as the end of
the cell and drops what comes later: a saved notebook would randomly miss
lines and charts. This client keeps reading the cell's messages after "idle"
until the kernel has been quiet for a moment.

usage: execute-notebook.py [--timeout SECONDS] [--output-dir DIR] NOTEBOOK...
"""

import argparse
import inspect
import os
import queue
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError, CellTimeoutError, DeadKernelError

# How long the kernel must stay quiet after "idle" before a cell counts as done.
# Late outputs arrive within milliseconds; this is a wide margin on a loaded machine.
QUIET_AFTER_IDLE_S = 0.3


async def next_msg(channel, timeout):
    msg = channel.get_msg(timeout=timeout)
    return await msg if inspect.isawaitable(msg) else msg


class LateOutputClient(NotebookClient):
    """A NotebookClient that also collects a cell's outputs published after its idle status."""

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        assert self.kc is not None
        while True:
            msg = await next_msg(self.kc.iopub_channel, None)
            if msg['parent_header'].get('msg_id') != parent_msg_id:
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                break
        while True:
            try:
                msg = await next_msg(self.kc.iopub_channel, QUIET_AFTER_IDLE_S)
            except queue.Empty:
                return
            if msg['parent_header'].get('msg_id') != parent_msg_id:
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                pass


def execute(path, out_path, timeout):
    nb = nbformat.read(path, as_version=4)
    client = LateOutputClient(
        nb,
        timeout=timeout,
        kernel_name=nb.metadata.get('kernelspec', {}).get('name', 'deno'),
        # Run where the notebook is, so its relative imports (../src/...) resolve.
        resources={'metadata': {'path': os.path.dirname(os.path.abspath(path))}},
        # No per-cell timestamps: a re-run notebook changes only where its outputs do.
        record_timing=False,
        allow_errors=False,
    )
    client.execute()
    nbformat.write(nb, out_path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--timeout', type=int, default=300, help='seconds one cell may run')
    parser.add_argument('--output-dir', help='write executed notebooks here instead of in place')
    parser.add_argument('notebooks', nargs='+')
    args = parser.parse_args()
    failed = 0
    for path in args.notebooks:
        out_path = os.path.join(args.output_dir, os.path.basename(path)) if args.output_dir else path
        if args.output_dir:
            os.makedirs(args.output_dir, exist_ok=True)
        start = time.monotonic()
        try:
            execute(path, out_path, args.timeout)
            print(f'ok   {path} ({time.monotonic() - start:.0f} s)', flush=True)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
            failed = 1
            print(f'FAIL {path} ({time.monotonic() - start:.0f} s)', flush=True)
            # nbclient's message names the failing cell's source and the kernel's error.
            print(str(e).strip()[-4000:], file=sys.stderr, flush=True)
    return failed


if __name__ == '__main__':
    sys.exit(main())
