"""The README says only what is true: every setting it names exists, and it lists every
dead-letter stage and code (with what each means)."""

from __future__ import annotations

import re
from pathlib import Path

from fitray.config import ENV_PREFIX, Settings
from fitray.dead_letters import DeadLetterCode, Stage

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_the_readme_names_exists() -> None:
    names = {ENV_PREFIX + field.upper() for field in Settings.model_fields}
    # "FITRAY_KAFKA_RAW_TOPIC / _ENRICHED_TOPIC" abbreviates a shared prefix: check whole names
    mentioned = set(re.findall(r"\bFITRAY_[A-Z0-9_]*[A-Z0-9]", README))
    unknown = sorted(mentioned - names - {"FITRAY_DEBUG"})  # FITRAY_DEBUG is read by the CLI
    assert not unknown, f"README names settings that do not exist: {unknown}"


def test_every_dead_letter_stage_and_code_is_explained() -> None:
    for value in [*Stage, *DeadLetterCode]:
        assert re.search(rf"^\| `{value.value}` \| \S", README, re.MULTILINE), value
