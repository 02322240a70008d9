"""The two ansible-core testing helpers the unit tests use, on every supported core line.

ansible-core 2.19 added data tagging: variables are templated only when trusted, and modules read
their arguments through ``patch_module_args``. Before 2.19 every string is a template and modules
read ``basic._ANSIBLE_ARGS``, so the same tests run on 2.17 and 2.18 with these stand-ins.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Dict, Iterator
from unittest import mock

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19

    def trust_as_template(value: str) -> str:
        return value

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    from ansible.module_utils import basic

    @contextlib.contextmanager
    def patch_module_args(args: Dict[str, Any]) -> Iterator[None]:
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()):
            yield

__all__ = ["patch_module_args", "trust_as_template"]
