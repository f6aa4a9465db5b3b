"""Why a pull happened, failed or crawled: resolver hosts, kubelet pods, removals, stuck pulls,
put together per pull for the store (docs/why.md)."""
