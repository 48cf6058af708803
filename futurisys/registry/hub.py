"""Model bundles on the Hugging Face Hub: fetch a pinned revision (cache and HF_HUB_OFFLINE honoured), publish."""

from __future__ import annotations

from pathlib import Path

BUNDLE_PATTERNS = ["metadata.json", "linear.json", "xgboost.ubj", "README.md"]


def fetch_bundle(repo_id: str, revision: str = "main", cache_dir: str | None = None) -> Path:
    """Download (or find in the hub cache) a bundle and return its local folder."""
    from huggingface_hub import snapshot_download

    return Path(
        snapshot_download(repo_id=repo_id, revision=revision, cache_dir=cache_dir, allow_patterns=BUNDLE_PATTERNS)
    )


def push_bundle(bundle_dir: str | Path, repo_id: str, token: str | None = None, private: bool = True) -> str:
    """Publish a bundle folder to a model repository; return the commit id."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id=repo_id, repo_type="model", private=private, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id,
        folder_path=str(bundle_dir),
        allow_patterns=BUNDLE_PATTERNS,
        commit_message=f"Futurisys model bundle {Path(bundle_dir).name}",
    )
    return info.oid
