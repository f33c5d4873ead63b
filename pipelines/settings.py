"""Configuration, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DEFAULT_BASE_URL = "https://intl-developer.saj-electric.com/prod-api"
DEFAULT_START_DATE = "2025-01-01"


@dataclass(frozen=True)
class Settings:
    app_id: str | None
    app_secret: str | None
    base_url: str
    data_dir: Path
    start_date: date

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            app_id=os.environ.get("SAJ_APP_ID") or None,
            app_secret=os.environ.get("SAJ_APP_SECRET") or None,
            base_url=os.environ.get("SAJ_BASE_URL", DEFAULT_BASE_URL).rstrip("/"),
            data_dir=Path(os.environ.get("SAJ_DATA_DIR", "./data")).resolve(),
            start_date=date.fromisoformat(os.environ.get("SAJ_START_DATE", DEFAULT_START_DATE)),
        )

    def __repr__(self) -> str:  # never show the secret
        return f"Settings(app_id={self.app_id!r}, base_url={self.base_url!r}, data_dir={str(self.data_dir)!r})"
