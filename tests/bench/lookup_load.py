#!/usr/bin/env python
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a lookup costs in each forked worker: loading it, and one call answered from the token cache.

Ansible forks a worker per task and host, and the worker loads a collection lookup afresh. This prepares one
process as ansible-playbook prepares itself (its imports, the collection installed from the tarball, one builtin
action and lookup already loaded), then forks SAMPLES workers per lookup and times, in each, lookup_loader.get()
and one run(). The lookups: ansible.builtin.env (the floor of a builtin), a trivial collection lookup made here
(the floor of a collection lookup), the same with the token lookup's documentation (the floor of that
documentation), and oauth2.client_credentials.token with a warm cache. The token lookup's load is then taken apart in
fresh forks: parsing its documentation and fragments, compiling the source of the collection modules it imports (each
file's share below the total), and importing the collection's package, which parses meta/runtime.yml (the trivial
collection has none).
Medians in milliseconds; raw figures go to .build/bench/lookup_load-<ansible-core version>.json.

The parent collects its garbage before each fork. Every fork of one parent starts from the same collector counters,
so without that either every fork or none would pay a full collection of the parent's heap (30 ms and more, copying
its pages), depending only on where the parent's cycle stood. The play benchmark pays collections as they fall.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Dict, List

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from harness import install_collection  # noqa: E402  pylint: disable=wrong-import-position

WORK = REPO / ".build" / "bench" / "lookup-load"
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "25"))
TOKEN_LOOKUP = "oauth2.client_credentials.token"
TRIVIAL_BODY = '''
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [self.get_option("greeting")]
'''
TRIVIAL_LOOKUP = '''
DOCUMENTATION = """
name: trivial
short_description: one option with env and vars
description: [The floor of a collection lookup.]
options:
  greeting:
    description: What to return.
    type: str
    default: hello
    env: [{name: BENCH_TRIVIAL_GREETING}]
    vars: [{name: bench_trivial_greeting}]
"""
''' + TRIVIAL_BODY


class _TokenEndpoint(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # pylint: disable=invalid-name
        body = json.dumps({"access_token": "bench-" + "t" * 600, "token_type": "Bearer", "expires_in": 3600}).encode()
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # pylint: disable=arguments-differ
        pass


def in_fork(work: Callable[[], Dict[str, float]]) -> Dict[str, float]:
    """work() in a fresh child, as Ansible's worker runs a task; its timings come back through a pipe."""
    read_end, write_end = os.pipe()
    gc.collect()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            payload = json.dumps(work()).encode()
        except BaseException as exc:  # pylint: disable=broad-except
            payload = json.dumps({"error": repr(exc)}).encode()
        os.write(write_end, payload)
        os._exit(0)  # pylint: disable=protected-access
    os.close(write_end)
    chunks = []
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    result = json.loads(b"".join(chunks))
    if "error" in result:
        raise RuntimeError(result["error"])
    return result


def main() -> None:
    # The token endpoint's thread only serves requests; a child never touches it, so forking beside it is safe here.
    warnings.filterwarnings("ignore", message="This process .* is multi-threaded", category=DeprecationWarning)
    WORK.mkdir(parents=True, exist_ok=True)
    collections = install_collection(WORK / "install", Path(sys.executable).parent)
    trivial = collections / "ansible_collections" / "bench" / "trivial" / "plugins" / "lookup"
    trivial.mkdir(parents=True, exist_ok=True)
    (trivial / "trivial.py").write_text(TRIVIAL_LOOKUP)
    (trivial / "same_documentation.py").write_text(_same_documentation(collections))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    home = WORK / "home"
    home.mkdir(exist_ok=True)
    os.environ.update(HOME=str(home), ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_HOME=str(home / ".ansible"),
                      ANSIBLE_OAUTH2_TOKEN_URL="http://127.0.0.1:%d/token" % server.server_address[1],
                      ANSIBLE_OAUTH2_CLIENT_ID="bench-client", ANSIBLE_OAUTH2_CLIENT_SECRET="bench-secret-of-some-length")

    # What ansible-playbook has imported and loaded before it forks its first worker.
    import ansible.cli.playbook  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    import ansible.executor.task_executor  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    from ansible.parsing.dataloader import DataLoader  # pylint: disable=import-outside-toplevel
    from ansible.plugins.loader import action_loader, init_plugin_loader, lookup_loader  # pylint: disable=import-outside-toplevel
    from ansible.release import __version__ as ansible_version  # pylint: disable=import-outside-toplevel
    from ansible.template import Templar  # pylint: disable=import-outside-toplevel

    init_plugin_loader([str(collections)])
    loader = DataLoader()
    templar = Templar(loader=loader)
    action_loader.get("ansible.builtin.debug", task=None, connection=None, play_context=None, loader=loader, templar=templar,
                      shared_loader_obj=None)
    lookup_loader.get("ansible.builtin.file", loader=loader, templar=templar)

    def load_and_call(name: str, terms: List[str]) -> Callable[[], Dict[str, float]]:
        def work() -> Dict[str, float]:
            started = time.perf_counter()
            lookup = lookup_loader.get(name, loader=loader, templar=templar)
            loaded = time.perf_counter()
            lookup.run(terms, variables={})
            return {"load": (loaded - started) * 1000, "call": (time.perf_counter() - loaded) * 1000}
        return work

    in_fork(load_and_call(TOKEN_LOOKUP, []))  # fills the token cache; the parent never loads the lookup
    runs = {
        "ansible.builtin.env": load_and_call("ansible.builtin.env", ["HOME"]),
        "trivial collection lookup": load_and_call("bench.trivial.trivial", []),
        "trivial body, the token lookup's documentation": load_and_call("bench.trivial.same_documentation", []),
        TOKEN_LOOKUP + " (warm cache)": load_and_call(TOKEN_LOOKUP, []),
    }
    modules = in_fork(lambda: _imported_collection_modules(lookup_loader, loader, templar))
    runs["token: documentation parse"] = lambda: _documentation_parse(collections)
    runs["token: compile of imported collection modules"] = lambda: _compile(modules)
    runs["collection package and meta/runtime.yml: oauth2"] = lambda: _package("ansible_collections.oauth2.client_credentials")
    runs["collection package and meta/runtime.yml: trivial"] = lambda: _package("ansible_collections.bench.trivial")
    # Round robin, so that a slow spell of the machine weighs on every row alike.
    results: Dict[str, List[Dict[str, float]]] = {name: [] for name in runs}
    for _sample in range(SAMPLES):
        for name, work in runs.items():
            results[name].append(in_fork(work))
    server.shutdown()

    summary = {}
    print("Per fork, medians of %d forks (ms), ansible-core %s, Python %s:" % (SAMPLES, ansible_version, platform.python_version()))
    floor = None
    for name, samples in results.items():
        parts = {part: statistics.median(sample[part] for sample in samples) for part in samples[0]}
        summary[name] = parts
        total = sum(value for part, value in parts.items() if part in ("load", "call"))
        shown = {part: value for part, value in parts.items() if "/" not in part}
        figures = "  ".join("%s %.1f" % item for item in shown.items()) + ("  = %.1f" % total if "load" in parts else "")
        if name.startswith("trivial body"):
            floor, figures = total, figures + "  (the floor)"
        elif name.startswith(TOKEN_LOOKUP):
            figures += "  = floor + %.1f" % (total - floor)
        print("  %-52s %s" % (name, figures))
        for part, value in parts.items():
            if "/" in part:
                print("  %-52s %.1f" % ("    " + part, value))
    (WORK.parent / ("lookup_load-%s.json" % ansible_version)).write_text(json.dumps({"samples": SAMPLES, "medians": summary, "raw": results}, indent=2))


def _same_documentation(collections: Path) -> str:
    """A lookup with the token lookup's documentation, fragments included, and a body that does nothing."""
    source = (collections / "ansible_collections" / "oauth2" / "client_credentials" / "plugins" / "lookup" / "token.py").read_text()
    documentation = "DOCUMENTATION = r\"\"\"" + _string_constant_text(source, "DOCUMENTATION") + "\"\"\"\n"
    return documentation.replace("name: token", "name: same_documentation", 1) + TRIVIAL_BODY.replace('"greeting"', '"output"')


def _documentation_parse(collections: Path) -> Dict[str, float]:
    """The lookup's DOCUMENTATION and its fragments, through the YAML loader ansible-core uses for plugin options."""
    import yaml  # pylint: disable=import-outside-toplevel
    from ansible.parsing.yaml.loader import AnsibleLoader  # pylint: disable=import-outside-toplevel

    root = collections / "ansible_collections" / "oauth2" / "client_credentials" / "plugins"
    texts = [_string_constant(root / "lookup" / "token.py", "DOCUMENTATION")]
    texts += [_string_constant(root / "doc_fragments" / "token_options.py", name) for name in ("DOCUMENTATION", "PLUGINS")]
    started = time.perf_counter()
    for text in texts:
        yaml.load(text, Loader=AnsibleLoader)  # noqa: S506  pylint: disable=no-value-for-parameter
    return {"parse": (time.perf_counter() - started) * 1000}


def _string_constant(path: Path, name: str) -> str:
    return _string_constant_text(path.read_text(), name)


def _string_constant_text(source: str, name: str) -> str:
    """The value of a raw triple-quoted string constant NAME in Python source."""
    start = source.index(name + " = r\"\"\"") + len(name) + 7
    return source[start:source.index('"""', start)]


def _imported_collection_modules(lookup_loader, loader, templar) -> Dict[str, List[str]]:
    before = set(sys.modules)
    lookup_loader.get(TOKEN_LOOKUP, loader=loader, templar=templar).run([], variables={})
    paths = [getattr(sys.modules[name], "__file__", None) for name in set(sys.modules) - before
             if name.startswith("ansible_collections.oauth2.")]
    return {"paths": sorted(path for path in paths if path and path.endswith(".py"))}


def _compile(modules: Dict[str, List[str]]) -> Dict[str, float]:
    """All the modules one after the other, as one worker compiles them; each file's share is reported under its path."""
    sources = [(path, Path(path).read_text()) for path in modules["paths"]]
    timings = {}
    for path, source in sources:
        started = time.perf_counter()
        compile(source, path, "exec", dont_inherit=True)
        timings["/".join(Path(path).parts[-2:])] = (time.perf_counter() - started) * 1000
    return dict({"compile": sum(timings.values()), "files": len(sources)}, **timings)


def _package(name: str) -> Dict[str, float]:
    """Importing a collection's package, which reads and parses its meta/runtime.yml: part of the first plugin load."""
    import importlib  # pylint: disable=import-outside-toplevel

    started = time.perf_counter()
    importlib.import_module(name)
    return {"import": (time.perf_counter() - started) * 1000}


if __name__ == "__main__":
    main()
