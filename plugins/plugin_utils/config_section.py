# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The [oauth2_client_credentials] section of ansible.cfg as written: keys the config manager never reads, and values as
given for the strict check of booleans. Internal use only; controller_options loads it only for an ansible.cfg that has
the section, so that a lookup configured otherwise compiles none of it."""

from __future__ import annotations

import configparser
import functools
import os
from typing import Any, Iterable, Mapping, Optional

from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.controller_options import ResolvedOptions, did_you_mean
from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.option_inputs import CONFIG_SECTION


def check_config_section(path: str, definitions: Mapping[str, Any], names: Iterable[str], resolved: ResolvedOptions) -> None:
    """Keys of the [oauth2_client_credentials] section of ansible.cfg (path) that the config manager never reads: a secret
    (never read from there) or a typo would otherwise be ignored silently, and the option reported as not set."""
    parser = _config_file(path)
    if parser is None or not parser.has_section(CONFIG_SECTION):
        return
    read_there = {entry["key"] for definition in definitions.values() for entry in definition.get("ini") or () if entry.get("section") == CONFIG_SECTION}
    for key in parser.options(CONFIG_SECTION):
        if key in read_there or key in parser.defaults():
            continue
        if key in names:
            where = "give it as a vault-encrypted oauth2_%s variable, the ANSIBLE_OAUTH2_%s environment variable or in credentials_file" % (
                key, key.upper())
            message = "ansible.cfg %s sets %s in [%s], where it is never read (no secret belongs in ansible.cfg): %s." % (
                path, key, CONFIG_SECTION, where)
            if resolved.values.get(key) is None:
                raise OAuth2Error(message)
            resolved.warnings.append(message)
        else:
            resolved.warnings.append("ansible.cfg %s sets %s in [%s], which is no option%s: it is ignored." % (
                path, key, CONFIG_SECTION, did_you_mean([key], sorted(read_there))))


def raw_ini_value(path: str, definition: Mapping[str, Any]) -> Any:
    """An option's value in ansible.cfg (path) as written; None for a file this parser cannot read as the config manager did
    (the config manager's reading then stands)."""
    parser = _config_file(path)
    if parser is None:
        return None
    return next((parser.get(entry["section"], entry["key"]) for entry in definition.get("ini") or ()
                 if parser.has_option(entry["section"], entry["key"])), None)


def _config_file(path: str) -> Optional[configparser.ConfigParser]:
    """ansible.cfg as written, read once per process however many options ask (again only if the file changed); None
    for a file this parser cannot read as the config manager did."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return _parsed_config(path, info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=4)
def _parsed_config(path: str, _mtime_ns: int, _size: int) -> Optional[configparser.ConfigParser]:
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
    try:
        parser.read(path)
    except configparser.Error:
        return None
    return parser
