"""Progress bars of sampling runs: one per chain (tqdm; in a notebook its widgets)."""

from __future__ import annotations

from typing import Any, List


class ChainBars:
    """Called by the native module, from the calling thread, with each chain's iterations
    done and divergences so far (several times a second while the chains run)."""

    def __init__(self, chains: int, warmup: int, draws: int) -> None:
        from tqdm.auto import tqdm

        self.warmup = warmup
        self.bars: List[Any] = [
            tqdm(total=warmup + draws, desc=f"chain {c}", position=c, leave=True, unit="it")
            for c in range(chains)
        ]
        self.shown: List[Any] = [None] * chains

    def __call__(self, done: List[int], divergences: List[int]) -> None:
        for c, bar in enumerate(self.bars):
            phase = "warmup" if done[c] < self.warmup else "sampling"
            if (phase, divergences[c]) != self.shown[c]:
                bar.set_postfix_str(f"{phase}, divergences {divergences[c]}", refresh=False)
                self.shown[c] = (phase, divergences[c])
            if done[c] > bar.n:
                bar.update(done[c] - bar.n)

    def close(self) -> None:
        for bar in self.bars:
            bar.close()
